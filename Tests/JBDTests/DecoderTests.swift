import JBD
import Testing
import TestSupport

/// Decoding rules that the fixtures do not exercise: units, flags, bounds and the V11 extension.
@Suite struct DecoderTests {
    /// A basic-info payload with the given fields; everything else as in the LIONTRON sample.
    static func basicInfoPayload(
        current: Int16 = 0, fet: UInt8 = 0x03, cellCount: UInt8 = 4, stateOfCharge: UInt8 = 65,
        balance: (low: UInt16, high: UInt16) = (0, 0), protection: UInt16 = 0,
        temperaturesRaw: [UInt16] = [2932, 2923], trailing: [UInt8] = []
    ) -> [UInt8] {
        func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
        var payload = u16(1320) + u16(UInt16(bitPattern: current)) + u16(7090) + u16(10991) + u16(2) + u16(0x290A)
        payload += u16(balance.low) + u16(balance.high) + u16(protection)
        payload += [0x25, stateOfCharge, fet, cellCount, UInt8(temperaturesRaw.count)]
        for raw in temperaturesRaw { payload += u16(raw) }
        return payload + trailing
    }

    static func decodeBasicInfo(_ payload: [UInt8]) throws -> BasicInfo {
        guard case let .basicInfo(info) = try Reply(decoding: Frame(register: 0x03, status: 0, payload: payload)) else {
            throw DecodeError.unknownRegister(0x03)
        }
        return info
    }

    @Test func dischargeCurrentIsNegative() throws {
        let info = try Self.decodeBasicInfo(Self.basicInfoPayload(current: -1234))
        #expect(info.currentAmperes == -12.34)
    }

    @Test func coarseUnitFlagScalesCurrentAndCapacitiesTenfold() throws {
        let info = try Self.decodeBasicInfo(Self.basicInfoPayload(current: 1234, fet: 0x83))
        #expect(info.currentAmperes == 123.4)
        #expect(info.remainingCapacityAmpereHours == 709.0)
        #expect(info.nominalCapacityAmpereHours == 1099.1)
        #expect(info.voltageVolts == 13.20)
        #expect(info.chargeMosfetEnabled && info.dischargeMosfetEnabled)
    }

    @Test func mosfetBitsAreIndependent() throws {
        let chargeOnly = try Self.decodeBasicInfo(Self.basicInfoPayload(fet: 0x01))
        #expect(chargeOnly.chargeMosfetEnabled && !chargeOnly.dischargeMosfetEnabled)
        let dischargeOnly = try Self.decodeBasicInfo(Self.basicInfoPayload(fet: 0x02))
        #expect(!dischargeOnly.chargeMosfetEnabled && dischargeOnly.dischargeMosfetEnabled)
    }

    @Test func balanceWordsMapToCellNumbersAcrossBothWords() throws {
        let info = try Self.decodeBasicInfo(Self.basicInfoPayload(cellCount: 20, balance: (0b1000_0000_0000_0101, 0b1001)))
        #expect(info.balancingCells == [1, 3, 16, 17, 20])
    }

    @Test func everyProtectionBitHasItsName() throws {
        for flag in ProtectionFlag.allCases {
            let info = try Self.decodeBasicInfo(Self.basicInfoPayload(protection: 1 << UInt16(flag.rawValue)))
            #expect(info.activeProtections == [flag])
        }
        let reserved = try Self.decodeBasicInfo(Self.basicInfoPayload(protection: 0x8000))
        #expect(reserved.activeProtections.isEmpty)
        #expect(ProtectionFlag.allCases.count == 15)
    }

    @Test func unpluggedProbeReadsMinusThirtyDegrees() throws {
        let info = try Self.decodeBasicInfo(Self.basicInfoPayload(temperaturesRaw: [2431]))
        #expect(info.temperaturesCelsius == [-30.0])
    }

    @Test func v11ExtensionIsDecodedWithAlarms() throws {
        let extensionBytes: [UInt8] = [55, 0x04, 0x01, 0x4E, 0x20, 0x4A, 0xDF, 0x01, 0xF4]
        let info = try Self.decodeBasicInfo(Self.basicInfoPayload(trailing: extensionBytes))
        let v11 = try #require(info.v11)
        #expect(v11.humidityPercent == 55)
        #expect(v11.activeAlarms == [.cellHighVoltage, .cellVoltageDifference])
        #expect(v11.fullChargeCapacityAmpereHours == 200.00)
        #expect(v11.remainingCapacityAmpereHours == 191.67)
        #expect(v11.balanceCurrentAmperes == 0.5)
    }

    @Test func shortOrImplausibleTrailingBytesAreIgnored() throws {
        let few = try Self.decodeBasicInfo(Self.basicInfoPayload(trailing: [1, 2, 3]))
        #expect(few.v11 == nil)
        #expect(few.temperaturesCelsius == [20.1, 19.2])
        let vendor = try Self.decodeBasicInfo(Self.basicInfoPayload(trailing: Array(repeating: 0xEE, count: 12)))
        #expect(vendor.v11 == nil)
    }

    @Test func payloadShorterThanItsProbeCountIsRejected() {
        var payload = Self.basicInfoPayload()
        payload.removeLast()
        #expect(throws: DecodeError.payloadTooShort(register: 0x03, expected: 27, actual: 26)) {
            try Self.decodeBasicInfo(payload)
        }
        #expect(throws: DecodeError.payloadTooShort(register: 0x03, expected: 23, actual: 22)) {
            try Self.decodeBasicInfo(Array(payload.prefix(22)))
        }
    }

    @Test func stateOfChargeAbove100IsRejected() {
        #expect(throws: DecodeError.implausible(field: "state of charge", value: "101 %", allowed: "0…100 %")) {
            try Self.decodeBasicInfo(Self.basicInfoPayload(stateOfCharge: 101))
        }
    }

    @Test func emptyOrImpossibleDatesAreNil() throws {
        var payload = Self.basicInfoPayload()
        payload[10] = 0; payload[11] = 0
        #expect(try Self.decodeBasicInfo(payload).manufactureDate == nil)
        // Month 13, day 31 of 2000: (0 << 9) | (13 << 5) | 31 = 0x01BF.
        payload[10] = 0x01; payload[11] = 0xBF
        #expect(try Self.decodeBasicInfo(payload).manufactureDate == nil)
    }

    @Test func cellPayloadMustBeEvenAndNonEmpty() {
        for payload in [[], [0x0C], [0x0C, 0xE5, 0x0C]] as [[UInt8]] {
            #expect(throws: DecodeError.self) { try Reply(decoding: Frame(register: 0x04, status: 0, payload: payload)) }
        }
    }

    @Test func zeroMillivoltCellIsReportedNotDropped() throws {
        let reply = try Reply(decoding: Frame(register: 0x04, status: 0, payload: [0x0C, 0xE5, 0x00, 0x00]))
        #expect(reply == .cellVoltages(try #require(cellVoltages(reply))))
        #expect(cellVoltages(reply)?.millivolts == [3301, 0])
    }

    @Test func modelStringStopsAtTheFirstUnprintableByte() throws {
        let reply = try Reply(decoding: Frame(register: 0x05, status: 0, payload: Array("JBD-X".utf8) + [0x00, 0x41, 0x42]))
        #expect(reply == .hardwareVersion("JBD-X"))
        let control = try Reply(decoding: Frame(register: 0x05, status: 0, payload: Array("AB".utf8) + [0x07, 0x43]))
        #expect(control == .hardwareVersion("AB"))
    }

    @Test func protectionCountersNeed22Or24Bytes() throws {
        let short = try Reply(decoding: Frame(register: 0xAA, status: 0, payload: Array(repeating: 0, count: 22)))
        guard case let .protectionCounters(counters) = short else { Issue.record("not counters"); return }
        #expect(counters.systemRestarts == nil)
        #expect(counters.counts.count == 11)
        #expect(throws: DecodeError.badPayloadLength(register: 0xAA, length: 20, allowed: "22 or 24 bytes")) {
            try Reply(decoding: Frame(register: 0xAA, status: 0, payload: Array(repeating: 0, count: 20)))
        }
    }

    @Test func everyErrorStatusIsADistinctResult() throws {
        for status in [UInt8(0x80), 0x81, 0x82, 0x83, 0x9F] {
            let reply = try Reply(decoding: Frame(register: 0x03, status: status, payload: []))
            #expect(reply == .error(register: 0x03, status: ReplyStatus(status)))
        }
        #expect(ReplyStatus(0x83).description == "password error")
    }

    @Test func successfulFrameForAnUnknownRegisterIsRejected() {
        #expect(throws: DecodeError.unknownRegister(0x24)) {
            try Reply(decoding: Frame(register: 0x24, status: 0, payload: [0, 1]))
        }
    }

    @Test func strictParserNamesEachProblem() {
        #expect(throws: FrameError.truncated(expected: 15, actual: 10)) {
            try Frame.parse(bytesFromHex("dd0400080ce50ce30ce5"))
        }
        #expect(throws: FrameError.trailingBytes(count: 1)) {
            try Frame.parse(bytesFromHex("dd0400080ce50ce30ce50ce8fc337700"))
        }
        #expect(throws: FrameError.badStartByte(0xAA)) {
            try Frame.parse(bytesFromHex("aa0400080ce50ce30ce50ce8fc3377"))
        }
        #expect(throws: FrameError.badEndByte(0x00)) {
            try Frame.parse(bytesFromHex("dd0400080ce50ce30ce50ce8fc3300"))
        }
    }
}

private func cellVoltages(_ reply: Reply) -> CellVoltages? {
    if case let .cellVoltages(cells) = reply { cells } else { nil }
}

@Suite struct ReplyEncodingTests {
    @Test func encodedLiontronValuesReproduceTheCapturedFrame() {
        let frame = ReplyEncoding.basicInfo(.init(
            centivolts: 1320, centiamperes: 0, remainingCentiampereHours: 7090, nominalCentiampereHours: 10991,
            cycles: 2, manufactureDate: (2020, 8, 10), balancingCells: [], protectionStatus: 0,
            softwareVersion: 0x25, stateOfChargePercent: 65, chargeMosfet: true, dischargeMosfet: true,
            cellCount: 4, deciKelvin: [2932, 2923]
        ))
        #expect(frame.bytes == bytesFromHex("dd03001b052800001bb22aef0002290a00000000000025410304020b740b6bfc3977"))
        #expect(ReplyEncoding.cellVoltages(millivolts: [3301, 3299, 3301, 3304]).bytes
            == bytesFromHex("dd0400080ce50ce30ce50ce8fc3377"))
        #expect(ReplyEncoding.hardwareVersion("JBD-SP04S034-L4S-200A-B-U").bytes
            == bytesFromHex("dd0500194a42442d53503034533033342d4c34532d323030412d422d55fa0877"))
        #expect(ReplyEncoding.error(register: 0x05, status: 0x80).bytes == bytesFromHex("dd058000ff8077"))
        #expect(ReplyEncoding.protectionCounters([.cellOvervoltage: 122, .cellUndervoltage: 2], systemRestarts: 1).bytes
            == bytesFromHex("ddaa0018000000000000007a00020000000000000000000000000001ff6b77"))
    }

    @Test func balancingAndProtectionRoundTrip() throws {
        let frame = ReplyEncoding.basicInfo(.init(
            centivolts: 5320, centiamperes: -2500, remainingCentiampereHours: 10000, nominalCentiampereHours: 28000,
            cycles: 321, manufactureDate: (2023, 12, 31), balancingCells: [2, 16, 17], protectionStatus: 0b101,
            softwareVersion: 0x31, stateOfChargePercent: 36, chargeMosfet: false, dischargeMosfet: true,
            cellCount: 16, deciKelvin: [2981, 2731, 2431]
        ))
        guard case let .basicInfo(info) = try Reply(decoding: Frame.parse(frame.bytes)) else {
            Issue.record("not basic info"); return
        }
        #expect(info.voltageVolts == 53.2)
        #expect(info.currentAmperes == -25)
        #expect(info.balancingCells == [2, 16, 17])
        #expect(info.activeProtections == [.cellOvervoltage, .packOvervoltage])
        #expect(info.manufactureDate?.description == "2023-12-31")
        #expect(info.softwareVersion == "3.1")
        #expect(!info.chargeMosfetEnabled && info.dischargeMosfetEnabled)
        #expect(info.temperaturesCelsius == [25.0, 0.0, -30.0])
    }
}
