import Basics
@testable import BatterySession
import JBD
import Logging
import Testing

@Suite struct OneShotReadTests {
    @Test func readsAllFourRegistersAndDisconnects() async throws {
        let link = ScriptedLink()
        let reading = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(200))
        #expect(reading.basicInfo.currentAmperes == -2.5)
        #expect(reading.cells.millivolts == [3301, 3299, 3301, 3304])
        #expect(reading.model == "JBD-TEST")
        #expect(reading.protectionCounters?.counts[.shortCircuit] == 1)
        #expect(link.state.withLock { ($0.connects, $0.disconnects) } == (1, 1))
        #expect(link.state.withLock { $0.sent.map(\.register) } == [.basicInfo, .cellVoltages, .hardwareVersion, .protectionCounters])
    }

    @Test func unansweredFirstRequestIsRetried() async throws {
        let link = ScriptedLink()
        link.script(.basicInfo, .silent)
        let reading = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(100))
        #expect(reading.basicInfo.voltageVolts == 13.2)
        #expect(link.state.withLock { $0.sent.filter { $0.register == .basicInfo }.count } == 2)
    }

    @Test func noiseAroundTheAnswerIsIgnored() async throws {
        let link = ScriptedLink()
        link.script(.basicInfo, .noisyAnswer)
        link.script(.cellVoltages, .noisyAnswer)
        let reading = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(200))
        #expect(reading.cells.millivolts.count == 4)
    }

    @Test func onlyCorruptAnswersFailAsChecksum() async {
        let link = ScriptedLink()
        link.script(.basicInfo, .corrupt, .corrupt, .corrupt)
        await #expect {
            _ = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(100), attempts: 3)
        } throws: { ($0 as? PollFailure)?.reason == .checksum }
        #expect(link.state.withLock { $0.disconnects } == 1)
    }

    @Test func errorStatusOnARequiredRegisterFailsAsStatusOnAnOptionalOneIsSkipped() async throws {
        let link = ScriptedLink()
        link.script(.hardwareVersion, .status(0x80))
        link.script(.protectionCounters, .status(0x80))
        let reading = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(200))
        #expect(reading.model == nil)
        #expect(reading.protectionCounters == nil)

        let refusing = ScriptedLink()
        refusing.script(.cellVoltages, .status(0x81))
        await #expect {
            _ = try await OneShotRead.read(link: refusing, connectTimeout: .seconds(1), requestTimeout: .milliseconds(200))
        } throws: { ($0 as? PollFailure)?.reason == .status }
        // A definite "no" is not retried: one request for the register.
        #expect(refusing.state.withLock { $0.sent.filter { $0.register == .cellVoltages }.count } == 1)
    }

    @Test func linkLossEndsTheWaitAtOnce() async {
        let link = ScriptedLink()
        link.script(.cellVoltages, .dropLink)
        let clock = ContinuousClock()
        let started = clock.now
        await #expect {
            _ = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .seconds(5))
        } throws: { ($0 as? PollFailure)?.reason == .linkLost }
        #expect(clock.now - started < .seconds(4))
    }

    @Test func cellCountDisagreementIsRejected() async {
        let link = ScriptedLink()
        link.state.withLock { $0.basicInfoOverride = ScriptedLink.frame(for: .basicInfo, cells: [1, 2, 3]) }
        await #expect {
            _ = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(200))
        } throws: { ($0 as? PollFailure)?.reason == .inconsistent }
    }
}

@Suite struct BatteryPollerTests {
    static func poller(_ link: ScriptedLink, store: StatusStore, interval: Duration = .milliseconds(50)) -> BatteryPoller {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return BatteryPoller(name: "house", link: link, store: store, schedule: PollSchedule(pollInterval: interval), logger: logger)
    }

    /// How long a test waits for a condition before giving up. Waits end as soon as the condition
    /// holds; the limit is generous because a loaded CI machine once gave a 50 ms poller no turn
    /// for 10 s while other tests held the cooperative pool's threads.
    static let patience: Duration = .seconds(60)

    static func waitFor(_ store: StatusStore, timeout: Duration = patience, _ condition: (BatteryStatus) -> Bool) async throws -> BatteryStatus {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let status = store.snapshot().first, condition(status) { return status }
            try await Task.sleep(for: .milliseconds(5))
        }
        return try #require(store.snapshot().first)
    }

    @Test func corruptFramesNeverChangeTheExportedReadingAndFailuresAreCounted() async throws {
        let link = ScriptedLink()
        let store = StatusStore([BatteryStatus(name: "house", address: "A4:C1:38:00:00:01", maxAgeSeconds: 60)])
        let poisoned: [UInt16] = [3000, 3000, 3000, 3000]
        let task = Task { await Self.poller(link, store: store).run() }
        _ = try await Self.waitFor(store) { $0.reading != nil }
        // Two polls' worth of 0x04 replies carry other cell values behind a broken checksum.
        link.script(.cellVoltages, .corruptCells(poisoned), .corruptCells(poisoned), .corruptCells(poisoned), .corruptCells(poisoned))
        var exported: Set<[Int]> = []
        let clock = ContinuousClock()
        let deadline = clock.now + Self.patience
        var status = try #require(store.snapshot().first)
        while clock.now < deadline {
            status = try #require(store.snapshot().first)
            if let cells = status.reading?.cells.millivolts { exported.insert(cells) }
            if (status.failures[.checksum] ?? 0) >= 2, status.lastPollSucceeded { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(status.failures[.checksum] == 2)
        #expect(status.lastPollSucceeded)
        #expect(exported == [[3301, 3299, 3301, 3304]])
        task.cancel()
        await task.value
        #expect(link.state.withLock { $0.disconnects } >= 1)
        #expect(store.snapshot().first?.connected == false)
    }

    @Test func connectFailuresBackOffAndRecover() async throws {
        let link = ScriptedLink()
        link.state.withLock {
            $0.connectFailures = Array(repeating: .connectRefused("le-connection-abort-by-local"), count: 3)
        }
        let store = StatusStore([BatteryStatus(name: "house", address: "A4:C1:38:00:00:01", maxAgeSeconds: 60)])
        let task = Task { await Self.poller(link, store: store).run() }
        let status = try await Self.waitFor(store) { $0.lastPollSucceeded }
        #expect(status.failures[.connect] == 3)
        #expect(status.connected)
        task.cancel()
        await task.value
    }

    @Test func linkLossReconnects() async throws {
        let link = ScriptedLink()
        let store = StatusStore([BatteryStatus(name: "house", address: "A4:C1:38:00:00:01", maxAgeSeconds: 60)])
        link.script(.basicInfo, .answer, .dropLink)
        let task = Task { await Self.poller(link, store: store).run() }
        let status = try await Self.waitFor(store) { ($0.failures[.linkLost] ?? 0) == 1 && $0.lastPollSucceeded }
        #expect(status.connected)
        #expect(link.state.withLock { $0.connects } >= 2)
        task.cancel()
        await task.value
    }
}
