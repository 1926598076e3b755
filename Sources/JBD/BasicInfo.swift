/// Register 0x03: the pack's state as one BMS reading.
public struct BasicInfo: Hashable, Sendable {
    public let voltageVolts: Double
    /// Positive while charging, negative while discharging.
    public let currentAmperes: Double
    public let remainingCapacityAmpereHours: Double
    public let nominalCapacityAmpereHours: Double
    public let chargeCycles: Int
    /// Nil when the board leaves the date empty (clones) or stores an impossible one.
    public let manufactureDate: ManufactureDate?
    /// Cell numbers (1-based) whose balancer is on.
    public let balancingCells: [Int]
    public let protectionStatus: UInt16
    public let softwareVersion: String
    /// The BMS's own state of charge, computed against its cycle capacity.
    public let stateOfChargePercent: Int
    public let chargeMosfetEnabled: Bool
    public let dischargeMosfetEnabled: Bool
    public let cellCount: Int
    public let temperaturesCelsius: [Double]
    /// Present on boards that follow the V11 revision of the protocol.
    public let v11: V11Extension?

    public var activeProtections: [ProtectionFlag] { ProtectionFlag.active(in: protectionStatus) }

    /// Fixed fields before the temperatures.
    static let minimumPayloadLength = 23
    /// Cells a balance word pair can describe; `Plausibility.cellCount` allows no more.
    static let maximumCellCount = 32
    /// Humidity, alarm word and three u16 values.
    static let v11ExtensionLength = 9
    /// Bit 7 of the FET byte: current and capacities count in 100 mA / 100 mAh.
    static let coarseUnitBit: UInt8 = 0x80

    init(payload: [UInt8]) throws(DecodeError) {
        let register = Register.basicInfo.rawValue
        guard payload.count >= Self.minimumPayloadLength else {
            throw .payloadTooShort(register: register, expected: Self.minimumPayloadLength, actual: payload.count)
        }
        let reader = ByteReader(bytes: payload)
        let probeCount = try Plausibility.probeCount.check(Int(reader.u8(22)))
        let temperaturesEnd = Self.minimumPayloadLength + 2 * probeCount
        guard payload.count >= temperaturesEnd else {
            throw .payloadTooShort(register: register, expected: temperaturesEnd, actual: payload.count)
        }
        let stateOfCharge = try Plausibility.stateOfCharge.check(Int(reader.u8(19)))
        let cellCount = try Plausibility.cellCount.check(Int(reader.u8(21)))

        let fet = reader.u8(20)
        // Capacities and current share one unit; big packs switch it to keep u16 from overflowing.
        let centiDivisor: Double = fet & Self.coarseUnitBit != 0 ? 10 : 100

        voltageVolts = try Plausibility.packVoltage.check(Double(reader.u16(0)) / 100)
        currentAmperes = try Plausibility.current.check(Double(reader.s16(2)) / centiDivisor)
        remainingCapacityAmpereHours = try Plausibility.capacity.check(Double(reader.u16(4)) / centiDivisor, which: "remaining capacity")
        nominalCapacityAmpereHours = try Plausibility.capacity.check(Double(reader.u16(6)) / centiDivisor, which: "nominal capacity")
        chargeCycles = try Plausibility.chargeCycles.check(Int(reader.u16(8)))
        manufactureDate = ManufactureDate(packed: reader.u16(10))
        let balanceBits = UInt32(reader.u16(14)) << 16 | UInt32(reader.u16(12))
        balancingCells = (0..<Self.maximumCellCount).filter { balanceBits & (1 << UInt32($0)) != 0 }.map { $0 + 1 }
        protectionStatus = reader.u16(16)
        let version = reader.u8(18)
        softwareVersion = "\(version >> 4).\(version & 0x0F)"
        stateOfChargePercent = stateOfCharge
        chargeMosfetEnabled = fet & 0x01 != 0
        dischargeMosfetEnabled = fet & 0x02 != 0
        self.cellCount = cellCount
        var temperatures: [Double] = []
        for probe in 0..<probeCount {
            let celsius = Double(Int(reader.u16(23 + 2 * probe)) - 2731) / 10
            temperatures.append(try Plausibility.temperature.check(celsius, which: "temperature \(probe + 1)"))
        }
        temperaturesCelsius = temperatures
        v11 = V11Extension(reader: reader, at: temperaturesEnd, centiDivisor: centiDivisor)
    }
}

/// The fields V11 boards append after the temperatures.
public struct V11Extension: Hashable, Sendable {
    public let humidityPercent: Int
    public let alarmStatus: UInt16
    public let fullChargeCapacityAmpereHours: Double
    public let remainingCapacityAmpereHours: Double
    public let balanceCurrentAmperes: Double

    public var activeAlarms: [AlarmFlag] { AlarmFlag.active(in: alarmStatus) }

    /// Nil when the trailing bytes are too few, or do not look like the extension: clones
    /// append vendor data of their own there, and a value no pack can have (a humidity above
    /// 100 %, see `Plausibility`) gives them away.
    init?(reader: ByteReader, at offset: Int, centiDivisor: Double) {
        guard reader.bytes.count - offset >= BasicInfo.v11ExtensionLength else { return nil }
        let humidity = Int(reader.u8(offset))
        let fullCharge = Double(reader.u16(offset + 3)) / centiDivisor
        let remaining = Double(reader.u16(offset + 5)) / centiDivisor
        let balanceCurrent = Double(reader.u16(offset + 7)) / 1000
        guard Plausibility.humidity.contains(Double(humidity)), Plausibility.capacity.contains(fullCharge),
              Plausibility.capacity.contains(remaining), Plausibility.balanceCurrent.contains(balanceCurrent)
        else { return nil }
        humidityPercent = humidity
        alarmStatus = reader.u16(offset + 1)
        fullChargeCapacityAmpereHours = fullCharge
        remainingCapacityAmpereHours = remaining
        balanceCurrentAmperes = balanceCurrent
    }
}

/// A production date packed as `year-2000 << 9 | month << 5 | day`.
public struct ManufactureDate: Hashable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Nil for 0 (clones) and for days no calendar has: month 0 or 13…15, day 0, the 31st of a
    /// 30-day month, February 29th outside leap years and February 30th and 31st.
    init?(packed: UInt16) {
        let year = 2000 + Int(packed >> 9)
        let day = Int(packed & 0x1F)
        let month = Int((packed >> 5) & 0x0F)
        guard (1...12).contains(month), (1...Self.days(inMonth: month, of: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Gregorian: every fourth year is a leap year, except centuries not divisible by 400 (2100).
    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// ISO 8601, e.g. "2020-08-10".
    public var description: String {
        func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(twoDigits(month))-\(twoDigits(day))"
    }
}
