import Glibc
import JBD

/// A 4-cell 100 Ah LiFePO4 pack whose values drift plausibly with time: a slow charge and
/// discharge cycle, cells a few millivolts apart, temperature that follows the current.
/// It answers exactly like a BMS: with frames, so the whole decoding path is exercised.
struct SimulatedBattery: Sendable {
    /// One full charge/discharge cycle.
    static let cyclePeriodSeconds = 3600.0
    static let nominalCentiampereHours: UInt16 = 10000
    static let cellOffsetsMillivolts = [0, 4, -3, 7]
    static let model = "JBD-SP04S034-L4S-100A-SIM"

    /// The reply to a request at `elapsed` seconds since the simulation started.
    static func reply(to register: Register, elapsed: Double) -> Frame {
        // Start a fifth into the cycle: charging, around half full, so a first look shows life.
        let phase = 2 * Double.pi * (elapsed / cyclePeriodSeconds + 0.2)
        let currentAmperes = 18 * sin(phase)
        // State of charge follows the integral of the current: 20 %…90 % over a cycle.
        let stateOfCharge = 0.55 - 0.35 * cos(phase)
        let cellMillivolts = cellVoltages(stateOfCharge: stateOfCharge, currentAmperes: currentAmperes)
        switch register {
        case .basicInfo:
            let packCentivolts = cellMillivolts.reduce(0, +) / 10
            let highestCell = cellMillivolts.indices.max { cellMillivolts[$0] < cellMillivolts[$1] }.map { $0 + 1 }
            let ambientDeciKelvin: Int = 2731 + 185
            let heating = Int(abs(currentAmperes) * 2)
            let probes: [UInt16] = [UInt16(ambientDeciKelvin + heating), UInt16(ambientDeciKelvin + heating / 2 - 4)]
            return ReplyEncoding.basicInfo(.init(
                centivolts: UInt16(packCentivolts),
                centiamperes: Int16(currentAmperes * 100),
                remainingCentiampereHours: UInt16(stateOfCharge * Double(nominalCentiampereHours)),
                nominalCentiampereHours: nominalCentiampereHours,
                cycles: 42 + UInt16(elapsed / cyclePeriodSeconds),
                manufactureDate: (2023, 5, 17),
                // Balancing runs on the highest cell while charging near the top.
                balancingCells: currentAmperes > 0 && stateOfCharge > 0.8 ? [highestCell ?? 1] : [],
                protectionStatus: 0,
                softwareVersion: 0x25,
                stateOfChargePercent: UInt8(stateOfCharge * 100),
                chargeMosfet: true,
                dischargeMosfet: true,
                cellCount: UInt8(cellMillivolts.count),
                deciKelvin: probes
            ))
        case .cellVoltages:
            return ReplyEncoding.cellVoltages(millivolts: cellMillivolts.map { UInt16($0) })
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
}
