/// Builds reply payloads from values: what a BMS would send. Used by the simulated battery
/// and by tests; the exporter itself never sends replies.
public enum ReplyEncoding {
    /// The values of a basic-info reply, in the protocol's own units.
    public struct BasicInfoValues: Sendable {
        public var centivolts: UInt16
        public var centiamperes: Int16
        public var remainingCentiampereHours: UInt16
        public var nominalCentiampereHours: UInt16
        public var cycles: UInt16
        public var manufactureDate: (year: Int, month: Int, day: Int)
        public var balancingCells: [Int]
        public var protectionStatus: UInt16
        public var softwareVersion: UInt8
        public var stateOfChargePercent: UInt8
        public var chargeMosfet: Bool
        public var dischargeMosfet: Bool
        public var cellCount: UInt8
        public var deciKelvin: [UInt16]

        public init(
            centivolts: UInt16, centiamperes: Int16, remainingCentiampereHours: UInt16,
            nominalCentiampereHours: UInt16, cycles: UInt16, manufactureDate: (year: Int, month: Int, day: Int),
            balancingCells: [Int], protectionStatus: UInt16, softwareVersion: UInt8, stateOfChargePercent: UInt8,
            chargeMosfet: Bool, dischargeMosfet: Bool, cellCount: UInt8, deciKelvin: [UInt16]
        ) {
            self.centivolts = centivolts
            self.centiamperes = centiamperes
            self.remainingCentiampereHours = remainingCentiampereHours
            self.nominalCentiampereHours = nominalCentiampereHours
            self.cycles = cycles
            self.manufactureDate = manufactureDate
            self.balancingCells = balancingCells
            self.protectionStatus = protectionStatus
            self.softwareVersion = softwareVersion
            self.stateOfChargePercent = stateOfChargePercent
            self.chargeMosfet = chargeMosfet
            self.dischargeMosfet = dischargeMosfet
            self.cellCount = cellCount
            self.deciKelvin = deciKelvin
        }
    }

    public static func basicInfo(_ values: BasicInfoValues) -> Frame {
        var payload: [UInt8] = []
        payload.reserveCapacity(BasicInfo.minimumPayloadLength + 2 * values.deciKelvin.count)
        let date = values.manufactureDate
        let packedDate = UInt16(truncatingIfNeeded: (date.year - 2000) << 9 | date.month << 5 | date.day)
        let balance = values.balancingCells.reduce(UInt32(0)) { bits, cell in
            (1...32).contains(cell) ? bits | 1 << UInt32(cell - 1) : bits
        }
        for word in [
            values.centivolts, UInt16(bitPattern: values.centiamperes), values.remainingCentiampereHours,
            values.nominalCentiampereHours, values.cycles, packedDate,
            UInt16(truncatingIfNeeded: balance), UInt16(truncatingIfNeeded: balance >> 16), values.protectionStatus,
        ] {
            append(word, to: &payload)
        }
        let fet: UInt8 = (values.chargeMosfet ? 0x01 : 0) | (values.dischargeMosfet ? 0x02 : 0)
        payload += [values.softwareVersion, values.stateOfChargePercent, fet, values.cellCount,
                    UInt8(truncatingIfNeeded: values.deciKelvin.count)]
        for raw in values.deciKelvin { append(raw, to: &payload) }
        return Frame(register: Register.basicInfo.rawValue, status: 0, payload: payload)
    }

    public static func cellVoltages(millivolts: [UInt16]) -> Frame {
        var payload: [UInt8] = []
        payload.reserveCapacity(2 * millivolts.count)
        for value in millivolts { append(value, to: &payload) }
        return Frame(register: Register.cellVoltages.rawValue, status: 0, payload: payload)
    }

    public static func hardwareVersion(_ model: String) -> Frame {
        Frame(register: Register.hardwareVersion.rawValue, status: 0, payload: Array(model.utf8.prefix(31)))
    }

    public static func protectionCounters(_ counts: [ProtectionFlag: UInt16], systemRestarts: UInt16?) -> Frame {
        var payload: [UInt8] = []
        for flag in ProtectionCounters.order { append(counts[flag] ?? 0, to: &payload) }
        if let systemRestarts { append(systemRestarts, to: &payload) }
        return Frame(register: Register.protectionCounters.rawValue, status: 0, payload: payload)
    }

    /// A BMS's "no": the status byte set and no data.
    public static func error(register: UInt8, status: UInt8) -> Frame {
        Frame(register: register, status: status, payload: [])
    }

    private static func append(_ value: UInt16, to payload: inout [UInt8]) {
        payload.append(UInt8(value >> 8))
        payload.append(UInt8(value & 0xFF))
    }
}
