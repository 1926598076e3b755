@testable import CLIOutput
import Testing

@Suite struct HexInputTests {
    @Test func spacesAndCaseAreAccepted() throws {
        #expect(try HexInput.parse("DD 04\t00 08") == [0xDD, 0x04, 0x00, 0x08])
        #expect(try HexInput.parse("dd0400") == [0xDD, 0x04, 0x00])
    }

    @Test func problemsAreNamed() {
        #expect(throws: HexInput.ParseError.oddDigitCount(3)) { try HexInput.parse("dd0") }
        #expect(throws: HexInput.ParseError.invalidCharacter("g", position: 3)) { try HexInput.parse("ddg0") }
        #expect(throws: HexInput.ParseError.empty) { try HexInput.parse("  ") }
        // Full-width digits are digits to Unicode but not hex to a capture tool.
        #expect(throws: HexInput.ParseError.invalidCharacter("１", position: 1)) { try HexInput.parse("１1") }
    }
}

@Suite struct JSONValueTests {
    @Test func serialisesCompactlyInInsertionOrder() {
        let value = JSONValue.object([
            .init("b", .integer(2)), .init("a", .array([.number(3.301), .bool(true), .null])),
            .init("s", .string("quote \" backslash \\ newline \n bell \u{07}")),
        ])
        #expect(value.serialized == #"{"b":2,"a":[3.301,true,null],"s":"quote \" backslash \\ newline \n bell \u0007"}"#)
    }

    @Test func nonFiniteNumbersBecomeNull() {
        #expect(JSONValue.array([.number(.nan), .number(.infinity)]).serialized == "[null,null]")
    }
}

@Suite struct FrameDecodingTests {
    @Test func liontronSampleUsesTheContractKeys() throws {
        let json = try FrameDecoding.decode(hex: "dd03001b052800001bb22aef0002290a00000000000025410304020b740b6bfc3977").get()
        guard case let .object(fields) = json else { Issue.record("not an object"); return }
        #expect(fields.map(\.key) == [
            "register", "status", "voltage_volts", "current_amperes", "remaining_capacity_ampere_hours",
            "nominal_capacity_ampere_hours", "state_of_charge_ratio", "charge_cycles", "cell_count",
            "temperature_celsius", "protection_active", "cell_balancing", "mosfet_enabled",
            "software_version", "manufacture_date",
        ])
        #expect(fields.first { $0.key == "state_of_charge_ratio" }?.value == .number(0.65))
        #expect(fields.first { $0.key == "manufacture_date" }?.value == .string("2020-08-10"))
    }

    @Test func v11FieldsAppearOnlyWhenTheFrameHasThem() throws {
        let json = try FrameDecoding.decode(hex: "dd030022055f00004adf4e2000022d1400000000000023600304010bb10000004e204adf0000fac277").get()
        guard case let .object(fields) = json else { Issue.record("not an object"); return }
        #expect(fields.first { $0.key == "full_charge_capacity_ampere_hours" }?.value == .number(200))
        #expect(fields.first { $0.key == "alarm_active" }?.value == .array([]))
    }

    @Test func eachKindOfProblemIsReported() {
        #expect(FrameDecoding.decode(hex: "dd0") == .failure(.hex(.oddDigitCount(3))))
        #expect(FrameDecoding.decode(hex: "dd0400080ce50ce30ce50ce8fc3477")
            == .failure(.frame(.badChecksum(expected: 0xFC33, received: 0xFC34))))
        #expect(FrameDecoding.decode(hex: "dd0400080ce5") == .failure(.frame(.truncated(expected: 15, actual: 6))))
        #expect(FrameDecoding.decode(hex: "dd24000000000077") == .failure(.frame(.trailingBytes(count: 1))))
        #expect(FrameDecoding.decode(hex: "dd240000000077") == .failure(.contents(.unknownRegister(0x24))))
    }
}
