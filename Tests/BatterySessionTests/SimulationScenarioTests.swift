@testable import BatterySession
import JBD
import Logging
import Testing

/// Each scenario, decoded the way the exporter decodes a real BMS, drives the state its
/// documentation (README, docs/alerts.md) promises, and stays internally consistent.
@Suite struct SimulationScenarioTests {
    struct Decoded {
        let info: BasicInfo
        let cells: [Int]
    }

    /// What the exporter would read at poll `step`, or nil if the BMS stays silent.
    static func read(_ scenario: SimulationScenario, step: Int, silence: Int = 60) throws -> Decoded? {
        guard let state = scenario.state(atPoll: step, elapsed: Double(step) * 10, silencePolls: silence) else { return nil }
        guard case let .basicInfo(info) = try Reply(decoding: SimulatedBattery.reply(to: .basicInfo, state: state)),
              case let .cellVoltages(cells) = try Reply(decoding: SimulatedBattery.reply(to: .cellVoltages, state: state))
        else {
            Issue.record("a simulated reply decoded as another register")
            return nil
        }
        return Decoded(info: info, cells: cells.millivolts)
    }

    @Test(arguments: SimulationScenario.allCases)
    func everyAnswerIsAConsistentV11Reading(_ scenario: SimulationScenario) throws {
        for step in 0..<80 {
            guard let reading = try Self.read(scenario, step: step) else { continue }
            let info = reading.info
            // Σ cells is the pack voltage (to the 10 mV the register carries).
            #expect(abs(Double(reading.cells.reduce(0, +)) / 1000 - info.voltageVolts) < 0.0101, "\(scenario) step \(step)")
            #expect(info.cellCount == reading.cells.count)
            // Remaining / nominal is the state of charge.
            let ratio = info.remainingCapacityAmpereHours / info.nominalCapacityAmpereHours
            #expect(abs(ratio - Double(info.stateOfChargePercent) / 100) < 0.01, "\(scenario) step \(step)")
            let v11 = try #require(info.v11, "\(scenario) is not a V11 board")
            #expect(v11.fullChargeCapacityAmpereHours == 98.5)
            #expect(v11.remainingCapacityAmpereHours == info.remainingCapacityAmpereHours)
        }
    }

    @Test func dischargeFallsFivePointsAPollToThreePercentAndHolds() throws {
        let percents = try (0..<12).map { try #require(try Self.read(.discharge, step: $0)).info.stateOfChargePercent }
        #expect(percents == [40, 35, 30, 25, 20, 15, 10, 5, 3, 3, 3, 3])
        let reading = try #require(try Self.read(.discharge, step: 3))
        #expect(reading.info.currentAmperes == -10)
        #expect(try #require(try Self.read(.discharge, step: 8)).info.v11?.activeAlarms == [.lowCapacity])
    }

    @Test func silentLowHoldsAtFivePercentThenFallsSilentThenReturnsCharged() throws {
        let silence = 7
        var percents: [Int?] = []
        for step in 0..<(12 + silence + 2) {
            percents.append(try Self.read(.silentLow, step: step, silence: silence)?.info.stateOfChargePercent)
        }
        #expect(Array(percents[0..<12]) == [40, 35, 30, 25, 20, 15, 10, 5, 5, 5, 5, 5])
        #expect(percents[12..<(12 + silence)].allSatisfy { $0 == nil })
        #expect(Array(percents[(12 + silence)...]) == [85, 85])
        let back = try #require(try Self.read(.silentLow, step: 12 + silence, silence: silence))
        #expect(back.info.currentAmperes > 0)
        #expect(back.info.activeProtections.isEmpty)
        #expect(back.info.v11?.activeAlarms == [])
    }

    @Test func silentLowDefaultsToSixtySilentPolls() throws {
        #expect(Simulation().silencePolls == 60)
        #expect(try Self.read(.silentLow, step: 12 + 59) == nil)
        #expect(try Self.read(.silentLow, step: 12 + 60)?.info.stateOfChargePercent == 85)
    }

    @Test func imbalanceHasOneCellAQuarterVoltBelowTheOthers() throws {
        let reading = try #require(try Self.read(.imbalance, step: 5))
        let sorted = reading.cells.sorted()
        #expect(sorted[1] - sorted[0] >= 245)
        #expect(sorted.last! - sorted[1] < 10)
        #expect(reading.info.stateOfChargePercent == 50)
        #expect(reading.info.v11?.activeAlarms == [.cellVoltageDifference])
    }

    @Test func coldChargeChargesAtFiveAmperesBelowFreezing() throws {
        let reading = try #require(try Self.read(.coldCharge, step: 3))
        #expect(reading.info.currentAmperes == 5)
        #expect(reading.info.temperaturesCelsius == [-5, -4])
    }

    @Test func protectionTripsAShortCircuitWithTheDischargeMosfetOffFor20Polls() throws {
        for step in [0, 19] {
            let info = try #require(try Self.read(.protection, step: step)).info
            #expect(info.activeProtections == [.shortCircuit])
            #expect(!info.dischargeMosfetEnabled)
            #expect(info.currentAmperes == 0)
        }
        let cleared = try #require(try Self.read(.protection, step: 20)).info
        #expect(cleared.activeProtections.isEmpty)
        #expect(cleared.dischargeMosfetEnabled)
    }

    @Test func normalDriftsWithTimeBetweenTwentyAndNinetyPercent() throws {
        var percents = Set<Int>()
        for minute in stride(from: 0, to: 60, by: 5) {
            let state = try #require(SimulationScenario.normal.state(atPoll: 0, elapsed: Double(minute) * 60, silencePolls: 60))
            percents.insert(state.stateOfChargePercent)
            #expect((20...90).contains(state.stateOfChargePercent))
        }
        #expect(percents.count > 5)
    }
}

/// The link plays a scenario one step per poll, however late the polls come: a poller reading it
/// sees the scenario's values and, while the BMS is silent, fails with `timeout`.
@Suite struct SimulatedLinkScenarioTests {
    @Test func aPollerSeesDischargeThenSilenceAsTimeouts() async throws {
        let interval = Duration.seconds(1)
        let link = SimulatedLink(simulation: Simulation(scenario: .silentLow, silencePolls: 2),
                                 replyDelay: .milliseconds(5))
        let store = StatusStore([BatteryStatus(name: "simulated", address: "00:00:00:00:00:00", maxAgeSeconds: 3,
                                               transport: .simulated)])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let poller = BatteryPoller(name: "simulated", link: link, store: store,
                                   schedule: PollSchedule(pollInterval: interval), logger: logger)
        let task = Task { await poller.run() }
        defer { task.cancel() }
        // Watch the store until the battery is back at 85 %, recording what it went through.
        var seen: [Int] = []
        var timeoutsWhileSilent = 0
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            let status = store.snapshot()[0]
            if let percent = status.reading?.basicInfo.stateOfChargePercent, seen.last != percent { seen.append(percent) }
            timeoutsWhileSilent = status.failures[.timeout] ?? 0
            if seen.last == 85 { break }
            try await Task.sleep(for: .milliseconds(20))  // sampling the store, not waiting for an event
        }
        #expect(seen.first == 40)
        #expect(seen.contains(5))
        #expect(seen.last == 85)
        #expect(!seen.contains { $0 < 5 })
        #expect(timeoutsWhileSilent >= 1)
        let energy = store.snapshot()[0].energy
        #expect(energy.dischargeAmpereHours > 0)
    }
}
