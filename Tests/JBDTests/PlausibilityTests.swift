@testable import JBD
import Testing

/// Values with a valid checksum that no real pack can produce reject the reply, the same way
/// for every field; the values the protocol gives a meaning (0 mV, −30.0 °C) stay valid.
@Suite struct PlausibilityTests {
    /// A 16-cell LiFePO4 pack with two probes, in the protocol's own units.
    static let pack = ReplyEncoding.BasicInfoValues(
        centivolts: 5320, centiamperes: -2500, remainingCentiampereHours: 10000, nominalCentiampereHours: 28000,
        cycles: 321, manufactureDate: (2023, 12, 31), balancingCells: [], protectionStatus: 0,
        softwareVersion: 0x31, stateOfChargePercent: 36, chargeMosfet: true, dischargeMosfet: true,
        cellCount: 16, deciKelvin: [2981, 2931]
    )

    static func decode(_ values: ReplyEncoding.BasicInfoValues, coarseUnits: Bool = false) throws -> BasicInfo {
        var payload = ReplyEncoding.basicInfo(values).payload
        if coarseUnits { payload[20] |= 0x80 }
        guard case let .basicInfo(info) = try Reply(decoding: Frame(register: 0x03, status: 0, payload: payload)) else {
            throw DecodeError.unknownRegister(0x03)
        }
        return info
    }

    static func decodeCells(_ millivolts: [UInt16]) throws -> Reply {
        try Reply(decoding: ReplyEncoding.cellVoltages(millivolts: millivolts))
    }

    /// Each absurd value the hardening run saw exported, and the error that now names it.
    static let absurdBasicInfo: [(String, @Sendable (inout ReplyEncoding.BasicInfoValues) -> Void, Bool, DecodeError)] = [
        ("pack 655.35 V", { $0.centivolts = 0xFFFF }, false,
         .implausible(field: "pack voltage", value: "655.35 V", allowed: "0…160 V")),
        ("current −3,276.8 A", { $0.centiamperes = .min }, true,
         .implausible(field: "current", value: "-3276.8 A", allowed: "-1000…1000 A")),
        ("remaining 6,553.5 Ah", { $0.remainingCentiampereHours = 0xFFFF }, true,
         .implausible(field: "remaining capacity", value: "6553.5 Ah", allowed: "0…5000 Ah")),
        ("nominal 6,553.5 Ah", { $0.nominalCentiampereHours = 0xFFFF }, true,
         .implausible(field: "nominal capacity", value: "6553.5 Ah", allowed: "0…5000 Ah")),
        ("65,535 cycles", { $0.cycles = 0xFFFF }, false,
         .implausible(field: "charge cycles", value: "65535", allowed: "0…50000")),
        ("state of charge 101 %", { $0.stateOfChargePercent = 101 }, false,
         .implausible(field: "state of charge", value: "101 %", allowed: "0…100 %")),
        ("33 cells", { $0.cellCount = 33 }, false, .implausible(field: "cell count", value: "33", allowed: "1…32")),
        ("no cells", { $0.cellCount = 0 }, false, .implausible(field: "cell count", value: "0", allowed: "1…32")),
        ("nine probes", { $0.deciKelvin = Array(repeating: 2981, count: 9) }, false,
         .implausible(field: "temperature probe count", value: "9", allowed: "0…8")),
        ("−273.1 °C", { $0.deciKelvin = [2981, 0] }, false,
         .implausible(field: "temperature 2", value: "-273.1 °C", allowed: "-90…200 °C")),
        ("6,280.4 °C", { $0.deciKelvin = [0xFFFF] }, false,
         .implausible(field: "temperature 1", value: "6280.4 °C", allowed: "-90…200 °C")),
    ]

    @Test(arguments: absurdBasicInfo.indices)
    func absurdBasicInfoValueRejectsTheReply(index: Int) {
        let (name, change, coarse, expected) = Self.absurdBasicInfo[index]
        var values = Self.pack
        change(&values)
        #expect(throws: expected, "\(name)") { try Self.decode(values, coarseUnits: coarse) }
    }

    @Test func everyBoundItselfIsStillPlausible() throws {
        var values = Self.pack
        values.centivolts = 16000
        values.centiamperes = 10000
        values.remainingCentiampereHours = 50000
        values.nominalCentiampereHours = 50000
        values.cycles = 50000
        values.stateOfChargePercent = 100
        values.cellCount = 32
        // −90.0 °C, −30.0 °C (an unplugged probe), 0 °C, 200.0 °C, and four more.
        values.deciKelvin = [1831, 2431, 2731, 4731, 2981, 2981, 2981, 2981]
        let info = try Self.decode(values, coarseUnits: true)
        #expect(info.voltageVolts == 160)
        #expect(info.currentAmperes == 1000)
        #expect(info.remainingCapacityAmpereHours == 5000)
        #expect(info.nominalCapacityAmpereHours == 5000)
        #expect(info.chargeCycles == 50000)
        #expect(info.cellCount == 32)
        #expect(info.temperaturesCelsius == [-90, -30, 0, 200, 25, 25, 25, 25])
        values.centiamperes = -10000
        #expect(try Self.decode(values, coarseUnits: true).currentAmperes == -1000)
        // Just beyond each temperature bound.
        values.deciKelvin = [1830]
        #expect(throws: DecodeError.self) { try Self.decode(values) }
        values.deciKelvin = [4732]
        #expect(throws: DecodeError.self) { try Self.decode(values) }
    }

    @Test func cellAbove5VoltsRejectsTheReplyAndNamesTheCell() throws {
        #expect(throws: DecodeError.implausible(field: "cell 3 voltage", value: "65.535 V", allowed: "0…5 V")) {
            try Self.decodeCells([3301, 3299, 0xFFFF, 3304])
        }
        #expect(throws: DecodeError.implausible(field: "cell 1 voltage", value: "5.001 V", allowed: "0…5 V")) {
            try Self.decodeCells([5001])
        }
        guard case let .cellVoltages(cells) = try Self.decodeCells([5000, 0, 3301]) else { Issue.record("not cells"); return }
        #expect(cells.millivolts == [5000, 0, 3301])
    }

    @Test func moreThan32CellsRejectTheReply() throws {
        #expect(throws: DecodeError.implausible(field: "cell count", value: "33", allowed: "1…32")) {
            try Self.decodeCells(Array(repeating: 3300, count: 33))
        }
        guard case let .cellVoltages(cells) = try Self.decodeCells(Array(repeating: 3300, count: 32)) else {
            Issue.record("not cells"); return
        }
        #expect(cells.millivolts.count == 32)
    }

    @Test func errorNamesFieldValueAndBounds() {
        let error = DecodeError.implausible(field: "cell 3 voltage", value: "65.535 V", allowed: "0…5 V")
        #expect(error.description == "implausible cell 3 voltage 65.535 V: a real pack stays within 0…5 V")
    }

    /// The V11 trailer may be a clone's vendor bytes: an impossible value there drops the
    /// trailer, not the reading, as a humidity above 100 % always did.
    @Test func implausibleV11TrailerIsTakenForVendorData() throws {
        func trailer(of payload: [UInt8]) throws -> V11Extension? {
            guard case let .basicInfo(info) = try Reply(decoding: Frame(register: 0x03, status: 0, payload: payload)) else {
                throw DecodeError.unknownRegister(0x03)
            }
            return info.v11
        }
        let base = ReplyEncoding.basicInfo(Self.pack).payload
        let plausible: [UInt8] = [50, 0, 0, 0x4E, 0x20, 0x4A, 0xDF, 0x01, 0xF4]
        #expect(try trailer(of: base + plausible)?.balanceCurrentAmperes == 0.5)
        var humidity = plausible
        humidity[0] = 101
        #expect(try trailer(of: base + humidity) == nil)
        var balance = plausible
        balance[7] = 0xFF; balance[8] = 0xFF  // 65.535 A
        #expect(try trailer(of: base + balance) == nil)
        var capacity = plausible
        capacity[3] = 0xFF; capacity[4] = 0xFF
        #expect(try trailer(of: base + capacity)?.fullChargeCapacityAmpereHours == 655.35)
        var coarse = base + capacity
        coarse[20] |= 0x80  // the same word in 100 mAh: 6,553.5 Ah, no pack's capacity
        #expect(try trailer(of: coarse) == nil)
    }

    @Test(arguments: [
        ((2021, 2, 31), nil), ((2023, 2, 29), nil), ((2100, 2, 29), nil), ((2023, 4, 31), nil),
        ((2023, 13, 1), nil), ((2023, 0, 1), nil), ((2023, 6, 0), nil),
        ((2024, 2, 29), "2024-02-29"), ((2000, 2, 29), "2000-02-29"), ((2023, 1, 31), "2023-01-31"),
        ((2023, 4, 30), "2023-04-30"), ((2127, 12, 31), "2127-12-31"),
    ] as [((Int, Int, Int), String?)])
    func impossibleManufactureDatesAreAbsent(date: (Int, Int, Int), expected: String?) throws {
        var values = Self.pack
        values.manufactureDate = (year: date.0, month: date.1, day: date.2)
        #expect(try Self.decode(values).manufactureDate?.description == expected)
    }
}
