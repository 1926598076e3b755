import Basics
@testable import BatterySession
import Testing

@Suite struct ScheduleTests {
    @Test func backoffGrowsToItsCapWithBoundedJitter() {
        var random = SystemRandomNumberGenerator()
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(8), jitter: 0.2)
        let delays = (0..<6).map { _ in backoff.next(using: &random) }
        let bases: [Double] = [1, 2, 4, 8, 8, 8]
        for (delay, base) in zip(delays, bases) {
            #expect(delay.seconds >= base * 0.8 && delay.seconds <= base * 1.2, "\(delay) vs \(base)")
        }
        backoff.reset()
        #expect(backoff.next(using: &random).seconds <= 1.2)
    }

    @Test func scheduleDerivesTimeoutsFromTheInterval() {
        let van = PollSchedule(pollInterval: .seconds(10))
        #expect(van.requestTimeout == .seconds(1))
        #expect(van.connectTimeout == .seconds(30))
        #expect(van.maxAge == .seconds(30))
        #expect(van.maximumBackoff == .seconds(60))
        let test = PollSchedule(pollInterval: .milliseconds(200))
        #expect(test.requestTimeout == .milliseconds(100))
        #expect(test.maximumBackoff == .milliseconds(1200))
    }
}

/// Issue 14, item 9: a reading must outlive the time the next poll may take.
@Suite struct MaxAgeTests {
    @Test func maxAgeCoversAPollThatConnectsEveryTime() {
        let quick = PollSchedule(pollInterval: .milliseconds(50), keepConnected: false)
        // 50 ms interval + 1 s connect + 4 registers × 2 attempts × 25 ms.
        #expect(quick.maxAge == .milliseconds(1250))
        #expect(quick.maxAge > quick.pollInterval + quick.connectTimeout)
        // A kept link keeps the contract of three intervals.
        let kept = PollSchedule(pollInterval: .milliseconds(50))
        #expect(kept.maxAge == .milliseconds(150))
        #expect(PollSchedule(pollInterval: .seconds(10), keepConnected: false).maxAge == .seconds(48))
    }

    @Test func freshnessFollowsTheMonotonicClockNotTheWallClock() async throws {
        let schedule = PollSchedule(pollInterval: .seconds(10))
        var status = BatteryStatus(name: "house", address: "A4:C1:38:00:00:01", maxAgeSeconds: schedule.maxAge.seconds)
        let reading = try await OneShotRead.read(link: ScriptedLink(), connectTimeout: .seconds(1))
        let wall = reading.timestamp
        status.store(reading, uptime: 500)
        status.lastPollSucceeded = true
        // The wall clock jumps a day back (NTP after boot without an RTC): 12 s later it is still fresh.
        #expect(status.isUp(at: wall - 86400, uptime: 512))
        // A day forward: the jump does not expire the reading.
        #expect(status.freshReading(at: wall + 86400, uptime: 520) != nil)
        // Only monotonic time expires it, whatever the wall clock says.
        #expect(status.freshReading(at: wall + 1, uptime: 531) == nil)
        #expect(!status.isUp(at: wall + 1, uptime: 531))
    }
}
