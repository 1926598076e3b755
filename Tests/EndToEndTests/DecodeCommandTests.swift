import Foundation
import Testing

@Suite struct DecodeCommandTests {
    @Test func liontronSamplePrintsTheDocumentedValues() async throws {
        let output = try await BinaryUnderTest.run(["decode", "dd03001b052800001bb22aef0002290a00000000000025410304020b740b6bfc3977"])
        #expect(output.status == 0)
        #expect(output.stderr.isEmpty)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(object["register"] as? String == "0x03")
        #expect(object["status"] as? Int == 0)
        #expect(object["voltage_volts"] as? Double == 13.2)
        #expect(object["current_amperes"] as? Double == 0)
        #expect(object["remaining_capacity_ampere_hours"] as? Double == 70.9)
        #expect(object["nominal_capacity_ampere_hours"] as? Double == 109.91)
        #expect(object["state_of_charge_ratio"] as? Double == 0.65)
        #expect(object["charge_cycles"] as? Int == 2)
        #expect(object["temperature_celsius"] as? [Double] == [20.1, 19.2])
        #expect(object["protection_active"] as? [String] == [])
        #expect(object["cell_balancing"] as? [Int] == [])
        #expect(object["mosfet_enabled"] as? [String: Bool] == ["charge": true, "discharge": true])
        #expect(object["software_version"] as? String == "2.5")
        #expect(object["manufacture_date"] as? String == "2020-08-10")
    }

    @Test func oneObjectPerFrameWithSpacesAllowed() async throws {
        let output = try await BinaryUnderTest.run([
            "decode", "dd 04 00 08 0c e5 0c e3 0c e5 0c e8 fc 33 77", "dd058000ff8077",
        ])
        #expect(output.status == 0)
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let cells = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(cells["cell_voltage_volts"] as? [Double] == [3.301, 3.299, 3.301, 3.304])
        let error = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(error["status"] as? Int == 0x80)
        #expect(error["register"] as? String == "0x05")
    }

    @Test(arguments: [
        ("dd0400080ce50ce30ce50ce8fc337", "odd number of hex digits"),
        ("dd0400080ce50ce30ce50ce8fc3477", "bad checksum"),
        ("dd0400080ce50ce3", "truncated frame"),
        ("dd240000000077", "unknown register 0x24"),
        ("xyz", "not a hex digit"),
    ])
    func malformedInputExitsNonZeroNamingTheProblem(hex: String, problem: String) async throws {
        let output = try await BinaryUnderTest.run(["decode", hex])
        #expect(output.status != 0)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains(problem), "stderr: \(output.stderr)")
    }

    @Test func goodFramesStillPrintWhenAnotherArgumentIsBad() async throws {
        let output = try await BinaryUnderTest.run(["decode", "zz", "dd0400080ce50ce30ce50ce8fc3377"])
        #expect(output.status != 0)
        #expect(output.stdout.split(separator: "\n").count == 1)
        #expect(output.stderr.contains("frame 1"))
    }
}
