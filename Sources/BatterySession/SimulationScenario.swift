import JBD

/// What `serve --simulate=SCENARIO` plays: a battery that drives one alert, one step per poll,
/// so that every alert and notification route can be rehearsed without a battery.
public enum SimulationScenario: String, CaseIterable, Sendable {
    /// Values drifting through a slow charge/discharge cycle, with a failed poll now and then.
    case normal
    /// A steady 10 A discharge: SoC falls 5 points a poll from 40 % to 3 %, then holds.
    case discharge
    /// As `discharge` down to 5 %, held 5 polls, then the BMS stops answering for the silence,
    /// then it answers again, charged to 85 %.
    case silentLow = "silent-low"
    /// One cell 0.25 V below the others at 50 %.
    case imbalance
    /// Charging at 5 A at −5 °C.
    case coldCharge = "cold-charge"
    /// Short-circuit protection with the discharge MOSFET off for 20 polls, then clear.
    case protection

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Polls `silentLow` spends at 5 % before the BMS goes silent.
    static let lowHoldPolls = 5
    /// Polls `protection` keeps its short circuit.
    static let protectionPolls = 20

    /// The battery at poll `step` (0 is the first), `elapsed` seconds after the first request,
    /// or nil while the BMS does not answer. Only `normal` follows the time instead of the step.
    func state(atPoll step: Int, elapsed: Double, silencePolls: Int) -> SimulatedState? {
        switch self {
        case .normal:
            return SimulatedBattery.driftingState(elapsed: elapsed)
        case .discharge:
            return Self.discharging(percent: max(40 - 5 * step, 3))
        case .silentLow:
            let lowFrom = 7   // 40 − 7 × 5 = 5 %
            let silentFrom = lowFrom + Self.lowHoldPolls
            if step < silentFrom { return Self.discharging(percent: max(40 - 5 * step, 5)) }
            if step < silentFrom + silencePolls { return nil }
            return SimulatedState(stateOfChargePercent: 85, centiamperes: 500,
                                  cellMillivolts: SimulatedBattery.restingCells(percent: 85, offsetMillivolts: 8),
                                  celsius: [20, 21])
        case .imbalance:
            var cells = SimulatedBattery.restingCells(percent: 50)
            cells[1] -= 250
            return SimulatedState(stateOfChargePercent: 50, centiamperes: -200, cellMillivolts: cells, celsius: [20, 21],
                                  alarmStatus: Self.bit(.cellVoltageDifference))
        case .coldCharge:
            return SimulatedState(stateOfChargePercent: 50, centiamperes: 500,
                                  cellMillivolts: SimulatedBattery.restingCells(percent: 50, offsetMillivolts: 8),
                                  celsius: [-5, -4], alarmStatus: Self.bit(.chargeLowTemperature))
        case .protection:
            let tripped = step < Self.protectionPolls
            return SimulatedState(stateOfChargePercent: 60, centiamperes: tripped ? 0 : -300,
                                  cellMillivolts: SimulatedBattery.restingCells(percent: 60), celsius: [20, 21],
                                  protectionStatus: tripped ? 1 << UInt16(ProtectionFlag.shortCircuit.rawValue) : 0,
                                  dischargeMosfet: !tripped)
        }
    }

    /// A 10 A discharge at `percent`; the board raises its low-capacity alarm at 10 % and below.
    private static func discharging(percent: Int) -> SimulatedState {
        SimulatedState(stateOfChargePercent: percent, centiamperes: -1000,
                       cellMillivolts: SimulatedBattery.restingCells(percent: percent, offsetMillivolts: -10),
                       celsius: [20, 21], alarmStatus: percent <= 10 ? bit(.lowCapacity) : 0)
    }

    private static func bit(_ alarm: AlarmFlag) -> UInt16 { 1 << UInt16(alarm.rawValue) }
}

/// `--simulate=SCENARIO` and its parameters.
public struct Simulation: Sendable, Equatable {
    public static let defaultSilencePolls = 60

    public var scenario: SimulationScenario
    /// Polls the BMS stays silent in `silentLow`.
    public var silencePolls: Int

    public init(scenario: SimulationScenario = .normal, silencePolls: Int = Simulation.defaultSilencePolls) {
        self.scenario = scenario
        self.silencePolls = silencePolls
    }
}
