import TestSupport
import Foundation
import Testing

/// `bms_exporter read` against the fake BlueZ, as a user runs it.
@Suite struct ReadCommandTests {
    static let address = "A4:C1:38:00:00:01"

    /// The fake with the one battery (`battery` overriding its definition); each test runs `read` itself.
    static func startRig(_ battery: [String: Any] = [:]) async throws -> ExporterRig<FakeBattery> {
        try await ExporterRig.start(
            [FakeBattery(["address": address, "bms": BatteryFixture.distinctive].merging(battery) { $1 })], serve: false)
    }

    @Test func jsonPrintsExactlyWhatTheFakeServes() async throws {
        let rig = try await Self.startRig()
        let output = try await rig.run(["read", "--address", Self.address.lowercased(), "--format", "json", "--timeout", "5s"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        #expect(output.stderr.isEmpty)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(object["voltage_volts"] as? Double == 13.6)
        #expect(object["current_amperes"] as? Double == -12.34)
        #expect(object["remaining_capacity_ampere_hours"] as? Double == 70.9)
        #expect(object["nominal_capacity_ampere_hours"] as? Double == 109.91)
        #expect(object["state_of_charge_ratio"] as? Double == 0.64)
        #expect(object["charge_cycles"] as? Int == 17)
        #expect(object["cell_voltage_volts"] as? [Double] == [3.401, 3.402, 3.398, 3.405])
        #expect(object["temperature_celsius"] as? [Double] == [21.5, -3.5])
        #expect(object["protection_active"] as? [String] == ["cell_overvoltage"])
        #expect(object["cell_balancing"] as? [Int] == [2, 4])
        #expect(object["mosfet_enabled"] as? [String: Bool] == ["charge": true, "discharge": false])
        #expect(object["software_version"] as? String == "2.6")
        #expect(object["manufacture_date"] as? String == "2022-03-28")
        #expect(object["model"] as? String == "JBD-E2E-4S")
        #expect((object["protection_events_total"] as? [String: Int])?["short_circuit"] == 1)
        let state = try await rig.fake.state(Self.address)
        #expect(state["connected"] as? Bool == false)
        rig.finish()
    }

    @Test func seedPrintsTheOriginalScriptsKeys() async throws {
        let rig = try await Self.startRig()
        let output = try await rig.run(["read", "--address", Self.address, "--format", "seed"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["Vmain", "Imain", "RemainAh", "NominalAh", "SoC", "Vcell1", "Vcell2", "Vcell3", "Vcell4"])
        #expect(object["Vmain"] as? Double == 13.6)
        #expect(object["Imain"] as? Double == -12.34)
        #expect(object["RemainAh"] as? Double == 70.9)
        #expect(object["NominalAh"] as? Double == 109.91)
        #expect(object["SoC"] as? Double == 64.51)
        #expect(object["Vcell3"] as? Double == 3.398)
        rig.finish()
    }

    @Test func textIsASummary() async throws {
        let rig = try await Self.startRig()
        let output = try await rig.run(["read", "--address", Self.address, "--format", "text"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        #expect(output.stdout.contains("Voltage     13.60 V"))
        #expect(output.stdout.contains("3.401 3.402 3.398 3.405 V"))
        #expect(output.stdout.contains("JBD-E2E-4S"))
        rig.finish()
    }

    @Test func missingAdapterExitsNonZeroNamingIt() async throws {
        let rig = try await Self.startRig()
        let output = try await rig.run(["read", "--address", Self.address, "--adapter", "hci1", "--timeout", "2s"])
        #expect(output.status != 0)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("adapter hci1 not found (adapters: hci0)"), "stderr: \(output.stderr)")
        rig.finish()
    }

    @Test func absentDeviceExitsNonZeroWithinTheTimeout() async throws {
        let rig = try await Self.startRig(["in_range": false])
        let started = Date()
        let output = try await rig.run(["read", "--address", Self.address, "--timeout", "500ms"])
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(output.status != 0)
        #expect(output.stdout.isEmpty)
        // The search gets what --timeout leaves after reserving time for the disconnect.
        #expect(output.stderr.contains("device \(Self.address) not found within "), "stderr: \(output.stderr)")
        rig.finish()
    }

    @Test func refusedConnectExitsNonZeroNamingBlueZsReason() async throws {
        let rig = try await Self.startRig(["faults": ["connect_abort": true]])
        let output = try await rig.run(["read", "--address", Self.address, "--timeout", "800ms"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("connect refused by BlueZ: le-connection-abort-by-local"), "stderr: \(output.stderr)")
        rig.finish()
    }

    @Test func bluetoothdNotRunningExitsNonZero() async throws {
        let rig = try await Self.startRig()
        await rig.fake.stopBlueZ()
        let output = try await rig.run(["read", "--address", Self.address, "--timeout", "1s"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("bluetoothd is not running"), "stderr: \(output.stderr)")
        rig.stop()
    }

    /// Thousands of `999999999h` in one flag once made a deadline whose wait in milliseconds
    /// overflowed: the D-Bus thread trapped as soon as Connect was sent. Refused before connecting now.
    @Test func anAbsurdTimeoutIsRefusedBeforeAnythingConnects() async throws {
        let rig = try await Self.startRig()
        let absurd = String(repeating: "999999999h", count: 3000)
        let output = try await rig.run(["read", "--address", Self.address, "--timeout", absurd])
        #expect(output.status == 2, "a validation error, not a crash; stderr: \(output.stderr.suffix(2000))")
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("is longer than the maximum of 1h"))
        let state = try await rig.fake.state(Self.address)
        #expect(state["connect_attempts"] as? Int == 0)
        rig.finish()
    }

    @Test(arguments: [
        (["--address", "A4:C1:38:00:00"], "--address"),
        (["--address", "A4:C1:38:00:00:01", "--timeout", "5"], "--timeout"),
        (["--address", "A4:C1:38:00:00:01", "--timeout", "61m"], "is longer than the maximum of 1h"),
        (["--address", "A4:C1:38:00:00:01", "--format", "xml"], "--format"),
        (["--address", "A4:C1:38:00:00:01", "--adapter", "bt0"], "--bluez.adapter"),
        (["--address", "A4:C1:38:00:00:01", "--bluez.adapter", "bt0"], "--bluez.adapter"),
        (["--timeout", "5s"], "--address"),
    ])
    func badFlagsAreRefusedClearly(arguments: [String], flag: String) async throws {
        try await RefusedFlags.expect(["read"] + arguments, naming: flag)
    }
}

/// Issue 14, item 10: `read --timeout` bounds the whole command and waits for bluetoothd within it.
@Suite struct ReadTimeoutTests {
    @Test func timeoutBoundsTheWholeReadOfASilentBattery() async throws {
        let rig = try await ReadCommandTests.startRig()
        defer { rig.finish() }
        try await rig.fake.setFaults(ReadCommandTests.address, ["silent": true])
        // What starting the binary costs on this machine right now: a loaded one takes seconds.
        let startUp = try await Self.timeToRun(["--version"])
        let started = ContinuousClock.now
        let output = try await rig.run(["read", "--address", ReadCommandTests.address, "--timeout", "2s"])
        let took = ContinuousClock.now - started
        print("read --timeout 2s against a silent battery: exit \(output.status) after \(took)")
        #expect(output.status == 1)
        #expect(output.stderr.contains("(timeout)"), "\(output.stderr)")
        // Three unanswered 1 s attempts at 0x03 alone took 3 s before; process start-up is the slack.
        let bound = .seconds(2) + max(.milliseconds(800), startUp * 2)
        #expect(took < bound, "read --timeout 2s took \(took); starting the binary took \(startUp)")
    }

    static func timeToRun(_ arguments: [String]) async throws -> Duration {
        let started = ContinuousClock.now
        _ = try await BinaryUnderTest.run(arguments)
        return ContinuousClock.now - started
    }

    @Test func bluetoothdStartedAfterReadBeginsIsWaitedFor() async throws {
        let rig = try await ReadCommandTests.startRig()
        defer { rig.finish() }
        await rig.fake.stopBlueZ()
        let read = Task.detached {
            try await rig.run(["read", "--address", ReadCommandTests.address, "--timeout", "20s"])
        }
        let started = ContinuousClock.now
        try await rig.fake.startBlueZ()
        let output = try await read.value
        print("read with bluetoothd started after it: exit \(output.status), \(ContinuousClock.now - started) after the start")
        #expect(output.status == 0, "stderr: \(output.stderr)")
        #expect(output.stdout.contains("\"voltage_volts\":13.6"))
    }
}
