import Foundation
import TestSupport
import Testing

/// Bad flags and bad config files stop `serve` at start-up, naming the problem.
@Suite struct ServeArgumentTests {
    @Test(arguments: [
        (["serve"], "nothing to export"),
        (["serve", "--simulate", "--bms.address", "A4:C1:38:00:00:01"], "use only one of"),
        (["serve", "--bms.address", "A4:C1:38:00:00"], "--bms.address"),
        (["serve", "--simulate", "--poll.interval", "10"], "--poll.interval"),
        (["serve", "--simulate", "--poll.interval", "1ms"], "must be between"),
        (["serve", "--simulate", "--web.listen-address", "localhost"], "--web.listen-address"),
        (["serve", "--simulate", "--web.telemetry-path", "metrics"], "--web.telemetry-path"),
        (["serve", "--simulate", "--log.level", "loud"], "--log.level"),
        (["serve", "--simulate", "--bluez.adapter", "usb0"], "--bluez.adapter"),
        (["serve", "--simulate", "--adapter", "usb0"], "--bluez.adapter"),
        (["serve", "--simulate", "--log.format", "xml"], "--log.format"),
        (["serve", "--no-such-flag"], "no-such-flag"),
        (["no-such-command"], "no-such-command"),
        (["serve", "--simulate=empty"], "--simulate: unknown scenario \"empty\"; choose one of normal, discharge, silent-low"),
        (["serve", "--simulate", "empty"], "--simulate: unknown scenario \"empty\""),
        (["serve", "--simulate=discharge", "--simulate.silence", "3"], "--simulate.silence"),
    ])
    func badFlagsExitTwoNamingTheProblem(arguments: [String], problem: String) async throws {
        try await RefusedFlags.expect(arguments, naming: problem, quietStdout: false, environment: [:])
    }

    @Test(arguments: [
        ("batteries:\n  - name: house\n    adress: A4:C1:38:00:00:01\n", ":3: unknown key `adress`"),
        ("batteries:\n  - name: house\n    address: A4:C1:38:00:00:0G\n", ":3: bad address"),
        ("batteries:\n  - name: a\n    address: A4:C1:38:00:00:01\n  - name: a\n    address: A4:C1:38:00:00:02\n",
         ":4: duplicate battery name"),
        ("poll_interval: soon\nbatteries:\n  - name: a\n    address: A4:C1:38:00:00:01\n", ":1: bad poll_interval"),
        ("batteries:\n  - name: a\n    address: A4:C1:38:00:00:01\n    keep_connected: maybe\n", ":4: `keep_connected` must be"),
        ("batteries: [\n", "YAML syntax error"),
        ("", "empty"),
    ])
    func badConfigFilesExitNonZeroNamingTheLine(yaml: String, problem: String) async throws {
        let directory = try TestDirectory("bms-config")
        defer { directory.remove() }
        let file = try directory.write("config.yml", yaml)
        let output = try await BinaryUnderTest.run(["serve", "--config.file", file])
        #expect(output.status == 2)
        #expect(output.stderr.contains(problem), "stderr: \(output.stderr)")
        #expect(output.stderr.contains(file))
    }

    @Test func missingConfigFileIsNamed() async throws {
        let output = try await BinaryUnderTest.run(["serve", "--config.file", "/nonexistent/bms.yml"])
        #expect(output.status == 2)
        #expect(output.stderr.contains("/nonexistent/bms.yml: cannot open: No such file or directory"))
    }

    /// Said as Go's exporters say it, naming the address; exit 1, because the flags are fine and the
    /// same command works once the port is free.
    @Test func portInUseIsAStartupErrorNamingTheAddress() async throws {
        let first = try await ServerProcess.start(["--simulate"])
        defer { first.stop() }
        let output = try await BinaryUnderTest.run(["serve", "--simulate", "--web.listen-address", "127.0.0.1:\(first.port)"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("msg=\"listen tcp 127.0.0.1:\(first.port): address already in use\""), "stderr: \(output.stderr)")
        #expect(!output.stderr.contains("bind("), "no NIO call text: \(output.stderr)")
    }
}
