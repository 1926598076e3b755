import TestSupport
import Foundation
import Testing

/// Paired ("echo until paired") and password-protected ("FF AA") modules, as a user meets them:
/// `read`, `pair` and `serve` of the real binary against the fake BlueZ's security kinds.
@Suite struct AuthTests {
    static let address = "A4:C1:38:00:00:01"
    static let pin = "246810"
    static let password = "Ab3$x9"
    static var values: [String: Any] { [
        "cells_mv": [3401, 3402, 3398, 3405], "temps_c": [21.5, -3.5], "current_a": -12.34,
        "remaining_ah": 70.9, "nominal_ah": 109.91, "cycles": 17, "rsoc": 64,
    ] }

    /// A fake with one battery of `security` kind; the rig's directory takes the PIN, password
    /// and config files, and each test starts `serve` itself when it needs it.
    static func startRig(_ battery: [String: Any]) async throws -> ExporterRig<FakeBattery> {
        try await ExporterRig.start([FakeBattery(["address": address, "bms": values].merging(battery) { $1 })], serve: false)
    }

    /// Writes a file readable only by its owner, as a secret should be; returns its path.
    static func secret(_ rig: ExporterRig<FakeBattery>, _ name: String, _ text: String) throws -> String {
        try rig.directory.write(name, text, permissions: 0o600)
    }

    /// Writes a config file for the one battery and returns its path.
    static func config(_ rig: ExporterRig<FakeBattery>, keepConnected: Bool, passwordFile: String?) throws -> String {
        try rig.directory.write("config.yml", """
        poll_interval: 300ms
        batteries:
          - name: house
            address: \(address)
            keep_connected: \(keepConnected)
        \(passwordFile.map { "    password_file: \($0)" } ?? "")
        """)
    }

    /// Every payload written to the battery, in order.
    static func payloads(_ rig: ExporterRig<FakeBattery>) async throws -> [String] {
        try await rig.fake.writes().filter { $0.address == address }.map(\.hex)
    }

    static let up = #"bms_up{battery="house"}"#
    static let paired = #"bms_paired{battery="house"}"#
    static let authFailures = #"bms_poll_failures_total{battery="house",reason="auth"}"#
    static let current = #"bms_current_amperes{battery="house"}"#
    static let lastSuccess = #"bms_last_success_timestamp_seconds{battery="house"}"#

    // MARK: Echo until paired

    @Test func readOfAnUnpairedEchoingModuleNamesThePairCommand() async throws {
        let rig = try await Self.startRig(["security": "echo_until_paired", "pin": Self.pin])
        defer { rig.finish() }
        let output = try await rig.run(["read", "--address", Self.address, "--timeout", "5s"])
        #expect(output.status == 1)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("(auth)"), "\(output.stderr)")
        #expect(output.stderr.contains("bms_exporter pair --address \(Self.address) --pin-file"), "\(output.stderr)")
        // The echo is recognised at once: one request, no retry.
        #expect(try await Self.payloads(rig) == ["dda50300fffd77"])
    }

    @Test func serveCountsAuthUntilPairedThenReadsCorrectValues() async throws {
        let rig = try await Self.startRig(["security": "echo_until_paired", "pin": Self.pin])
        defer { rig.finish() }
        let pinFile = try Self.secret(rig, "pin", Self.pin + "\n")
        let server = try await rig.serve(["--bms.address", Self.address, "--bms.name", "house", "--poll.interval", "300ms"])
        let down = try await server.samples(within: 20) { ($0[Self.authFailures] ?? 0) >= 2 }
        #expect(down[Self.up] == 0)
        #expect(down[Self.paired] == 0)
        #expect(server.log.contains("it needs Bluetooth pairing"), "\(server.log)")
        #expect(server.log.contains("bms_exporter pair --address \(Self.address) --pin-file"))
        // One line per cause, however often it repeats.
        #expect(server.log.components(separatedBy: "it needs Bluetooth pairing").count == 2, "\(server.log)")
        // The exporter never pairs by itself.
        #expect(try await rig.fake.state(Self.address)["paired"] as? Bool == false)
        // Pairing while the exporter holds the module would race it for the link: stop it first.
        server.stop()

        let paired = try await rig.run(["pair", "--address", Self.address, "--pin-file", pinFile, "--timeout", "10s"])
        #expect(paired.status == 0, "\(paired.stderr)")
        #expect(paired.stdout.contains("paired with \(Self.address)"))
        #expect(!(paired.stdout + paired.stderr).contains(Self.pin))
        let state = try await rig.fake.state(Self.address)
        #expect(state["paired"] as? Bool == true)
        #expect(state["trusted"] as? Bool == true)
        #expect(state["connected"] as? Bool == false)
        // The one-shot agent is gone with the command.
        #expect((try await rig.fake.agents()["agents"] as? [String: Any])?.isEmpty == true)

        let again = try await rig.serve(["--bms.address", Self.address, "--bms.name", "house", "--poll.interval", "300ms"])
        defer { again.stop() }
        let up = try await again.samples(within: 20) { $0[Self.up] == 1 }
        #expect(up[Self.current] == -12.34)
        #expect(up[#"bms_cell_voltage_volts{battery="house",cell="3"}"#] == 3.398)
        #expect(up[Self.paired] == 1)
        #expect(up[Self.authFailures] == 0)
        // Without a password file no FF AA frame is ever sent.
        #expect(try await Self.payloads(rig).allSatisfy { !$0.hasPrefix("ffaa") })
    }

    @Test func pairWithAWrongPinFailsNamingTheCause() async throws {
        let rig = try await Self.startRig(["security": "echo_until_paired", "pin": Self.pin])
        defer { rig.finish() }
        let pinFile = try Self.secret(rig, "pin", "135790")
        let output = try await rig.run(["pair", "--address", Self.address, "--pin-file", pinFile, "--timeout", "10s"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("the module refused the PIN"), "\(output.stderr)")
        #expect(!output.stderr.contains("135790"))
        #expect(try await rig.fake.state(Self.address)["paired"] as? Bool == false)
    }

    @Test func pairOfAModuleWithoutPairingSaysItNeedsNone() async throws {
        let rig = try await Self.startRig([:])
        defer { rig.finish() }
        let pinFile = try Self.secret(rig, "pin", Self.pin)
        let output = try await rig.run(["pair", "--address", Self.address, "--pin-file", pinFile, "--timeout", "10s"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("needs no pairing"), "\(output.stderr)")
    }

    @Test func pairOfAPairedModuleSaysSoAndSucceeds() async throws {
        let rig = try await Self.startRig(["security": "echo_until_paired", "pin": Self.pin, "paired": true, "known": true])
        defer { rig.finish() }
        let pinFile = try Self.secret(rig, "pin", Self.pin)
        let output = try await rig.run(["pair", "--address", Self.address, "--pin-file", pinFile, "--timeout", "10s"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("already paired"))
    }

    @Test func aBadOrWorldReadablePinFileIsReported() async throws {
        let rig = try await Self.startRig(["security": "echo_until_paired", "pin": Self.pin])
        defer { rig.finish() }
        let bad = try Self.secret(rig, "bad", "12345")
        let refused = try await rig.run(["pair", "--address", Self.address, "--pin-file", bad])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("6-digit PIN"))
        let open = try Self.secret(rig, "open", Self.pin)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: open)
        let warned = try await rig.run(["pair", "--address", Self.address, "--pin-file", open, "--timeout", "10s"])
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains("readable by every user"))
    }

    @Test func aLostBondIsReasonAuthNamingTheRemedy() async throws {
        let rig = try await Self.startRig([
            "security": "echo_until_paired", "pin": Self.pin, "paired": true, "trusted": true, "known": true,
        ])
        defer { rig.finish() }
        let server = try await rig.serve(["--bms.address", Self.address, "--bms.name", "house", "--poll.interval", "300ms"])
        defer { server.stop() }
        let up = try await server.samples(within: 20) { $0[Self.up] == 1 }
        #expect(up[Self.paired] == 1)
        try await rig.fake.forgetBond(Self.address)
        let down = try await server.samples(within: 20) { ($0[Self.authFailures] ?? 0) >= 2 && $0[Self.up] == 0 }
        // BlueZ still lists the bond; the module does not.
        #expect(down[Self.paired] == 1)
        #expect(server.log.contains("ATT error: 0x0e"), "\(server.log)")
        #expect(server.log.contains("bluetoothctl remove"))
    }

    // MARK: FF AA password

    @Test(arguments: [true, false])
    func passwordModuleIsReadOnEveryPoll(keepConnected: Bool) async throws {
        let rig = try await Self.startRig(["security": "ffaa_password", "password": Self.password])
        defer { rig.finish() }
        let passwordFile = try Self.secret(rig, "password", Self.password + "\n")
        let config = try Self.config(rig, keepConnected: keepConnected, passwordFile: passwordFile)
        let server = try await rig.serve(["--config.file", config])
        defer { server.stop() }
        var last = try #require(try await server.samples(within: 20) { $0[Self.up] == 1 }[Self.lastSuccess])
        for _ in 0..<3 {
            let s = try await server.samples(within: 20) { ($0[Self.lastSuccess] ?? 0) > last }
            #expect(s[Self.up] == 1)
            #expect(s[Self.current] == -12.34)
            last = try #require(s[Self.lastSuccess])
        }
        let final = try await server.samples(within: 20) { _ in true }
        let failures = final.filter { $0.key.hasPrefix("bms_poll_failures_total") }.values.reduce(0, +)
        #expect(failures == 0, "\(server.log)")
        #expect(!server.log.contains(Self.password))
        let landing = try await server.request("/").body
        #expect(!landing.contains(Self.password) && !landing.contains(passwordFile))
        // One exchange per connection: app key, challenge, password, then reads. Counted with the
        // exporter stopped; the last connection may have been cut short mid-exchange by the stop.
        server.stop()
        let payloads = try await Self.payloads(rig)
        let connects = try #require(try await rig.fake.state(Self.address)["connect_count"] as? Int)
        for frame in ["ffaa15063030303030303b", "ffaa170017", "ffaa1806"] {
            let count = payloads.filter { $0.hasPrefix(frame) }.count
            #expect((connects - 1)...connects ~= count, "\(frame): \(count) for \(connects) connections")
        }
        #expect(Array(payloads.prefix(4)).map { String($0.prefix(6)) } == ["ffaa15", "ffaa17", "ffaa18", "dda503"])
        if !keepConnected { #expect(connects >= 4) } else { #expect(connects == 1) }
    }

    @Test func aWrongPasswordIsReasonAuthWithAClearLine() async throws {
        let rig = try await Self.startRig(["security": "ffaa_password", "password": Self.password])
        defer { rig.finish() }
        let passwordFile = try Self.secret(rig, "password", "wrong1")
        let server = try await rig.serve([
            "--bms.address", Self.address, "--bms.name", "house", "--poll.interval", "300ms",
            "--bms.password-file", passwordFile,
        ])
        defer { server.stop() }
        let down = try await server.samples(within: 20) { ($0[Self.authFailures] ?? 0) >= 2 }
        #expect(down[Self.up] == 0)
        #expect(server.log.contains("the module refused the password"), "\(server.log)")
        #expect(!server.log.contains("wrong1"))
        // No read is ever sent to a module that stays locked.
        #expect(try await Self.payloads(rig).allSatisfy { $0.hasPrefix("ffaa") })
    }

    @Test func readWithAPasswordFileAndAModuleWithoutPassword() async throws {
        let rig = try await Self.startRig(["security": "ffaa_password", "password": Self.password])
        defer { rig.finish() }
        let passwordFile = try Self.secret(rig, "password", Self.password)
        let output = try await rig.run(["read", "--address", Self.address, "--password-file", passwordFile, "--timeout", "5s"])
        #expect(output.status == 0, "\(output.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(object["current_amperes"] as? Double == -12.34)
        #expect(object["cell_voltage_volts"] as? [Double] == [3.401, 3.402, 3.398, 3.405])
        // "No password set": the app key alone unlocks, no challenge or password follows.
        try await rig.fake.setSecurity(Self.address, ["password": NSNull()])
        let open = try await rig.run(["read", "--address", Self.address, "--password-file", passwordFile, "--timeout", "5s"])
        #expect(open.status == 0, "\(open.stderr)")
        let payloads = try await Self.payloads(rig)
        #expect(payloads.filter { $0.hasPrefix("ffaa1806") }.count == 1)
        #expect(payloads.filter { $0 == "ffaa15063030303030303b" }.count == 2)
    }

    @Test func aLockedModuleWithoutPasswordFileIsNeverSentAnFFAAFrame() async throws {
        let rig = try await Self.startRig(["security": "ffaa_password", "password": Self.password])
        defer { rig.finish() }
        let output = try await rig.run(["read", "--address", Self.address, "--timeout", "5s"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("(timeout)"), "\(output.stderr)")
        #expect(try await Self.payloads(rig).allSatisfy { $0.hasPrefix("dda5") })
    }

    // MARK: The write-log check

    @Test func writeLogCheckAllowsExactlyTheReadAndExchangeFrames() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/check-write-log").path
        func check(_ payloads: [String]) throws -> Int32 {
            try TestDirectory.with("bms-writes") { directory in
                let log = try directory.write(
                    "writes.log", payloads.map { "2026-01-01T00:00:00+00:00 hci0 \(Self.address) ff02 command \($0) /p :1.1\n" }.joined())
                return try FinishedProcess.runBlocking(URL(fileURLWithPath: script), [log]).status
            }
        }
        let allowed = ["dda50300fffd77", "dda50400fffc77", "dda50500fffb77", "dda5aa00ff5677",
                       "ffaa15063030303030303b", "ffaa170017", "ffaa180645bb752a642445", "ffaa1806cc2a3b6c56c4d5"]
        #expect(try check(allowed) == 0)
        for allowedOne in allowed { #expect(FakeBlueZ.isAllowedWrite(allowedOne)) }
        let forbidden = [
            "ffaa1606313233343536cc",  // 0x16: sets a new password
            "ffaa1d00" + "1d",  // 0x1D: settings unlock
            "ffaa0701410848",  // 0x07: rename
            "ffaa15063131313131314b",  // another app key
            "ffaa180645bb752a642446",  // password frame with a wrong checksum
            "dd5ae1020000ff1d77",  // a write to the BMS
        ]
        for payload in forbidden {
            #expect(try check(allowed + [payload]) == 1, "\(payload)")
            #expect(!FakeBlueZ.isAllowedWrite(payload), "\(payload)")
        }
    }
}
