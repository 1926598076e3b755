/// Protection bits of register 0x03, in bit order. Bit 15 is reserved.
public enum ProtectionFlag: Int, CaseIterable, Sendable {
    case cellOvervoltage, cellUndervoltage, packOvervoltage, packUndervoltage
    case chargeOvertemperature, chargeUndertemperature
    case dischargeOvertemperature, dischargeUndertemperature
    case chargeOvercurrent, dischargeOvercurrent, shortCircuit, frontendError
    case mosfetSoftwareLock, chargeMosfetFault, dischargeMosfetFault

    /// The flag's snake_case name; the metric labels and JSON values use it as it is.
    public var name: String {
        switch self {
        case .cellOvervoltage: "cell_overvoltage"
        case .cellUndervoltage: "cell_undervoltage"
        case .packOvervoltage: "pack_overvoltage"
        case .packUndervoltage: "pack_undervoltage"
        case .chargeOvertemperature: "charge_overtemperature"
        case .chargeUndertemperature: "charge_undertemperature"
        case .dischargeOvertemperature: "discharge_overtemperature"
        case .dischargeUndertemperature: "discharge_undertemperature"
        case .chargeOvercurrent: "charge_overcurrent"
        case .dischargeOvercurrent: "discharge_overcurrent"
        case .shortCircuit: "short_circuit"
        case .frontendError: "frontend_error"
        case .mosfetSoftwareLock: "mosfet_software_lock"
        case .chargeMosfetFault: "charge_mosfet_fault"
        case .dischargeMosfetFault: "discharge_mosfet_fault"
        }
    }

    /// The flags set in a protection status word.
    public static func active(in word: UInt16) -> [ProtectionFlag] {
        allCases.filter { word & (1 << UInt16($0.rawValue)) != 0 }
    }
}

/// Alarm bits of the V11 extension of register 0x03, in bit order.
public enum AlarmFlag: Int, CaseIterable, Sendable {
    case cellHighVoltage, cellLowVoltage, packHighVoltage, packLowVoltage
    case chargeHighTemperature, chargeLowTemperature
    case dischargeHighTemperature, dischargeLowTemperature
    case chargeHighCurrent, dischargeHighCurrent, cellVoltageDifference, lowCapacity

    /// The alarm's snake_case name; the metric labels and JSON values use it as it is.
    public var name: String {
        switch self {
        case .cellHighVoltage: "cell_high_voltage"
        case .cellLowVoltage: "cell_low_voltage"
        case .packHighVoltage: "pack_high_voltage"
        case .packLowVoltage: "pack_low_voltage"
        case .chargeHighTemperature: "charge_high_temperature"
        case .chargeLowTemperature: "charge_low_temperature"
        case .dischargeHighTemperature: "discharge_high_temperature"
        case .dischargeLowTemperature: "discharge_low_temperature"
        case .chargeHighCurrent: "charge_high_current"
        case .dischargeHighCurrent: "discharge_high_current"
        case .cellVoltageDifference: "cell_voltage_difference"
        case .lowCapacity: "low_capacity"
        }
    }

    /// The alarms set in an alarm word.
    public static func active(in word: UInt16) -> [AlarmFlag] {
        allCases.filter { word & (1 << UInt16($0.rawValue)) != 0 }
    }
}
