import TestSupport
import Foundation
import Testing

/// `bms_exporter scan` against the fake BlueZ.
@Suite struct ScanCommandTests {
    @Test func listsTheFakesBatteriesWithNameAndRSSI() async throws {
        let rig = try await ExporterRig.start([
            FakeBattery(["address": "A4:C1:38:00:00:01", "name": "xiaoxiang BMS", "rssi": -58]),
            FakeBattery(["address": "A4:C1:38:00:00:02", "name": "LX-12V100", "variant": "fff0", "rssi": -77]),
        ], serve: false)
        defer { rig.stop() }
        let output = try await rig.run(["scan", "--timeout", "400ms"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first { $0.contains("A4:C1:38:00:00:01") }?.contains("-58 dBm") == true)
        #expect(lines.first { $0.contains("A4:C1:38:00:00:01") }?.contains("xiaoxiang BMS") == true)
        #expect(lines.first { $0.contains("A4:C1:38:00:00:02") }?.contains("-77 dBm") == true)
        #expect(lines.first { $0.contains("A4:C1:38:00:00:02") }?.contains("LX-12V100") == true)
        let adapters = try await rig.fake.worldState()["adapters"] as? [String: [String: Any]]
        #expect(adapters?["hci0"]?["discovering"] as? Bool == false)
        #expect(rig.fake.writeLog().isEmpty || rig.fake.forbiddenWrites().isEmpty)
    }

    @Test func strangersNamesAndSignalValuesAreNotTakenAtFaceValue() async throws {
        // 127 is HCI's "RSSI not available"; the name tries to recolour the user's terminal.
        let rig = try await ExporterRig.start(
            [FakeBattery(["address": "A4:C1:38:00:00:03", "name": "JBD\u{1B}[31m\u{07}red", "rssi": 127])], serve: false)
        defer { rig.stop() }
        let output = try await rig.run(["scan", "--timeout", "400ms"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let line = output.stdout.split(separator: "\n").first { $0.contains("A4:C1:38:00:00:03") }.map(String.init)
        #expect(line == "A4:C1:38:00:00:03  ? dBm  JBD\u{FFFD}[31m\u{FFFD}red", "\(output.stdout)")
    }

    @Test func missingAdapterExitsNonZero() async throws {
        let rig = try await ExporterRig<FakeBattery>.start([], serve: false)
        defer { rig.stop() }
        let output = try await rig.run(["scan", "--bluez.adapter", "hci3", "--timeout", "200ms"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("adapter hci3 not found (adapters: hci0)"), "stderr: \(output.stderr)")
    }

    @Test(arguments: [
        (["--timeout", "10"], "is not a duration like 10s"),
        (["--timeout", "2h"], "is longer than the maximum of 1h"),
        (["--adapter", "bt0"], "--bluez.adapter"),
        (["--bluez.adapter", "bt0"], "--bluez.adapter"),
    ])
    func badFlagsAreRefusedClearly(arguments: [String], problem: String) async throws {
        try await RefusedFlags.expect(["scan"] + arguments, naming: problem)
    }
}
