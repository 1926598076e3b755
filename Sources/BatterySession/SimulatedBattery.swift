import Glibc
import JBD

/// What a simulated BMS reports at one moment, in the protocol's own units.
struct SimulatedState: Sendable, Equatable {
    var stateOfChargePercent: Int
    var centiamperes: Int
    var cellMillivolts: [Int]
    var celsius: [Double]
    var protectionStatus: UInt16 = 0
    var alarmStatus: UInt16 = 0
    var dischargeMosfet = true
    var balancingCells: [Int] = []
    var cycles = 42

    var packMillivolts: Int { cellMillivolts.reduce(0, +) }
    var remainingCentiampereHours: Int {
        stateOfChargePercent * Int(SimulatedBattery.nominalCentiampereHours) / 100
    }
}

/// A 4-cell 100 Ah LiFePO4 pack on a V11 board (full-charge capacity and alarms), answering
/// exactly like a BMS: with frames, so the whole decoding path is exercised.
struct SimulatedBattery: Sendable {
    /// One full charge/discharge cycle of the `normal` scenario.
    static let cyclePeriodSeconds = 3600.0
    static let nominalCentiampereHours: UInt16 = 10000
    /// What the board has learned the pack holds: a little below nominal, as in a used pack.
    static let fullChargeCentiampereHours: UInt16 = 9850
    static let cellOffsetsMillivolts = [0, 4, -3, 7]
    static let model = "JBD-SP04S034-L4S-100A-SIM"

    /// The `normal` scenario at `elapsed` seconds: values that drift plausibly with time, a slow
    /// charge and discharge cycle, cells a few millivolts apart, temperature following the current.
    static func driftingState(elapsed: Double) -> SimulatedState {
        // Start a fifth into the cycle: charging, around half full, so a first look shows life.
        let phase = 2 * Double.pi * (elapsed / cyclePeriodSeconds + 0.2)
        let currentAmperes = 18 * sin(phase)
        // State of charge follows the integral of the current: 20 %…90 % over a cycle.
        let stateOfCharge = 0.55 - 0.35 * cos(phase)
        let cells = cellVoltages(stateOfCharge: stateOfCharge, currentAmperes: currentAmperes)
        let highestCell = cells.indices.max { cells[$0] < cells[$1] }.map { $0 + 1 } ?? 1
        let heating = abs(currentAmperes) * 0.2
        return SimulatedState(
            stateOfChargePercent: Int(stateOfCharge * 100),
            centiamperes: Int(currentAmperes * 100),
            cellMillivolts: cells,
            celsius: [18.5 + heating, 18.5 + heating / 2 - 0.4],
            // Balancing runs on the highest cell while charging near the top.
            balancingCells: currentAmperes > 0 && stateOfCharge > 0.8 ? [highestCell] : [],
            cycles: 42 + Int(elapsed / cyclePeriodSeconds)
        )
    }

    /// The reply a BMS in `state` sends to a request for `register`.
    static func reply(to register: Register, state: SimulatedState) -> Frame {
        switch register {
        case .basicInfo:
            let remaining = UInt16(state.remainingCentiampereHours)
            let frame = ReplyEncoding.basicInfo(.init(
                centivolts: UInt16(state.packMillivolts / 10),
                centiamperes: Int16(state.centiamperes),
                remainingCentiampereHours: remaining,
                nominalCentiampereHours: nominalCentiampereHours,
                cycles: UInt16(state.cycles),
                manufactureDate: (2023, 5, 17),
                balancingCells: state.balancingCells,
                protectionStatus: state.protectionStatus,
                softwareVersion: 0x25,
                stateOfChargePercent: UInt8(state.stateOfChargePercent),
                chargeMosfet: true,
                dischargeMosfet: state.dischargeMosfet,
                cellCount: UInt8(state.cellMillivolts.count),
                deciKelvin: state.celsius.map { UInt16(Int(($0 * 10).rounded()) + 2731) }
            ))
            // The V11 extension after the temperatures: humidity, alarm word, full-charge and
            // remaining capacity, balance current (mA).
            let balanceMilliamperes: UInt16 = state.balancingCells.isEmpty ? 0 : 35
            var payload = frame.payload + [45]
            for word in [state.alarmStatus, fullChargeCentiampereHours, remaining, balanceMilliamperes] {
                payload += [UInt8(word >> 8), UInt8(word & 0xFF)]
            }
            return Frame(register: frame.register, status: 0, payload: payload)
        case .cellVoltages:
            return ReplyEncoding.cellVoltages(millivolts: state.cellMillivolts.map { UInt16($0) })
        case .hardwareVersion:
            return ReplyEncoding.hardwareVersion(model)
        case .protectionCounters:
            return ReplyEncoding.protectionCounters([.cellOvervoltage: 3, .dischargeOvercurrent: 1], systemRestarts: 2)
        }
    }

    /// LiFePO4's flat curve: about 3.20 V at 20 %, 3.34 V at 90 %, pushed up while charging.
    static func cellVoltages(stateOfCharge: Double, currentAmperes: Double) -> [Int] {
        let resting = 3160 + Int(200 * stateOfCharge)
        let underLoad = resting + Int(currentAmperes * 1.5)
        return cellOffsetsMillivolts.map { underLoad + $0 }
    }

    /// Resting cell voltages for a state of charge, with LiFePO4's steep knees at both ends:
    /// 2.99 V at 3 %, 3.20 V at 10 %, 3.35 V at 95 %.
    static func restingCells(percent: Int, offsetMillivolts: Int = 0) -> [Int] {
        let base: Int
        if percent < 10 {
            base = 2900 + 30 * percent
        } else if percent > 95 {
            base = 3350 + 20 * (percent - 95)
        } else {
            base = 3200 + 150 * (percent - 10) / 85
        }
        return (0..<4).map { base + offsetMillivolts + 2 * $0 }
    }
}
