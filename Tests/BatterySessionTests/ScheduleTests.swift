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
