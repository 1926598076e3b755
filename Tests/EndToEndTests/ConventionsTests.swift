import Foundation
import TestSupport
import Testing

/// The conventions Prometheus users expect of an exporter: exit codes, one value per flag, one
/// adapter spelling, Prometheus' log formats, client_golang's `process_*` series.
@Suite struct ExitCodeTests {
    /// 2 for every usage error, on every command (ArgumentParser alone would exit 64).
    @Test(arguments: [
        ["read"], ["read", "--address", "nonsense"], ["read", "--address", "A4:C1:38:00:00:01", "--no-such-flag"],
        ["scan", "--timeout", "0s"], ["scan", "--no-such-flag"], ["scan", "positional"],
        ["decode"], ["decode", "--no-such-flag"],
        ["serve", "--no-such-flag"], ["serve", "--simulate", "--poll.interval", "10"], ["no-such-command"],
    ])
    func usageErrorsExitTwo(arguments: [String]) async throws {
        let output = try await BinaryUnderTest.run(arguments, environment: RefusedFlags.noBus)
        #expect(output.status == 2, "stderr: \(output.stderr)")
        #expect(!output.stderr.isEmpty)
        #expect(output.stdout.isEmpty)
    }

    @Test(arguments: [["--help"], ["--version"], ["read", "--help"], ["scan", "--help"], ["decode", "--help"], ["help", "serve"]])
    func helpAndVersionExitZero(arguments: [String]) async throws {
        let output = try await BinaryUnderTest.run(arguments)
        #expect(output.status == 0, "stderr: \(output.stderr)")
        #expect(!output.stdout.isEmpty)
    }

    /// Runtime failures exit 1: a frame that does not decode, a battery that cannot be reached.
    @Test func runtimeFailuresExitOne() async throws {
        let decode = try await BinaryUnderTest.run(["decode", "dd0300"])
        #expect(decode.status == 1, "stderr: \(decode.stderr)")
        let read = try await BinaryUnderTest.run(
            ["read", "--address", "A4:C1:38:00:00:01", "--timeout", "1s"], environment: RefusedFlags.noBus)
        #expect(read.status == 1, "stderr: \(read.stderr)")
    }
}

@Suite struct RepeatedFlagTests {
    @Test(arguments: [
        (["serve", "--simulate", "--web.listen-address", ":1", "--web.listen-address", ":2"], "--web.listen-address"),
        (["serve", "--simulate", "--log.level=debug", "--log.level", "info"], "--log.level"),
        (["--simulate", "--simulate"], "--simulate"),
        (["serve", "--simulate", "--adapter", "hci0", "--bluez.adapter", "hci1"], "--bluez.adapter"),
        (["read", "--address", "A4:C1:38:00:00:01", "--address", "A4:C1:38:00:00:02"], "--address"),
        (["read", "--address", "A4:C1:38:00:00:01", "--format", "json", "--format", "text"], "--format"),
        (["scan", "--adapter", "hci0", "--adapter", "hci1"], "--bluez.adapter"),
        (["scan", "--timeout", "1s", "--timeout=2s"], "--timeout"),
    ])
    func aSingleValueFlagGivenTwiceIsAnError(arguments: [String], flag: String) async throws {
        let output = try await BinaryUnderTest.run(arguments, environment: RefusedFlags.noBus)
        #expect(output.status == 2)
        #expect(output.stderr.contains("flag \(flag) given more than once"), "stderr: \(output.stderr)")
    }

    /// After `--` an argument is positional, whatever it looks like.
    @Test func argumentsAfterDoubleDashAreNotFlags() async throws {
        let frame = "dd0400080ce50ce30ce50ce8fc3377"
        let output = try await BinaryUnderTest.run(["decode", "--", frame, frame])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        #expect(output.stdout.split(separator: "\n").count == 2)
    }
}

/// `--log.format`: lines parsed back field by field. The run logs and stops at once, because
/// its port is taken: two lines, `starting` and the listen error, and on a slow machine the
/// simulated battery's "first reading received" between them, which is held to the same format.
@Suite struct LogFormatEndToEndTests {
    @Test func logfmtIsTheDefaultWithPrometheusFieldNames() async throws {
        let port = try OccupiedPort()
        let output = try await BinaryUnderTest.run(["serve", "--simulate", "--web.listen-address", "127.0.0.1:\(port.number)"])
        let lines = output.stderr.split(separator: "\n")
        #expect(lines.count == 2 || (lines.count == 3 && lines[1].contains("first reading received")),
                "stderr: \(output.stderr)")
        for line in lines {
            let keys = line.split(separator: " ").prefix(4).map { $0.split(separator: "=").first.map(String.init) ?? "" }
            #expect(keys == ["time", "level", "source", "msg"], "\(line)")
        }
        #expect(lines.first?.contains(#" level=INFO source=Exporter.swift:"#) == true)
        #expect(lines.first?.contains(#" msg=starting batteries=simulated "#) == true)
        #expect(lines.first?.contains(#" web="plain HTTP""#) == true, "a value with a space is quoted")
        #expect(lines.last?.contains(#" level=ERROR "#) == true)
    }

    @Test func jsonIsOneObjectPerLine() async throws {
        let port = try OccupiedPort()
        let output = try await BinaryUnderTest.run(
            ["serve", "--simulate", "--log.format", "json", "--web.listen-address", "127.0.0.1:\(port.number)"])
        #expect(output.status == 1)
        let objects = try output.stderr.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String], "\($0)")
        }
        #expect(objects.count == 2 || (objects.count == 3 && objects[1]["msg"] == "first reading received"),
                "stderr: \(output.stderr)")
        #expect(objects.first?["msg"] == "starting")
        #expect(objects.first?["batteries"] == "simulated")
        #expect(objects.last?["level"] == "ERROR")
        #expect(objects.last?["msg"] == "listen tcp 127.0.0.1:\(port.number): address already in use")
        for object in objects {
            #expect(object["time"]?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(object)")
            #expect(object["source"]?.wholeMatch(of: /[A-Za-z]+\.swift:\d+/) != nil, "\(object)")
        }
    }

    /// journald stamps each line itself; our own `time` would be a second, disagreeing one. Only a
    /// JOURNAL_STREAM naming stderr's own device and inode counts (children inherit the variable).
    @Test(arguments: [true, false])
    func noTimeWhenStderrIsTheJournal(matching: Bool) async throws {
        let port = try OccupiedPort()
        let directory = try TestDirectory("bms-journal")
        defer { directory.remove() }
        let log = URL(fileURLWithPath: try directory.write("stderr.log", ""))
        let stream = matching ? "$(stat -c %d:%i \"$1\")" : "1:1"
        let output = try await FinishedProcess.run(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "JOURNAL_STREAM=\(stream) exec \"$0\" serve --simulate --web.listen-address \"$2\" 2>\"$1\"",
                        BinaryUnderTest.url.path, log.path, "127.0.0.1:\(port.number)"])
        #expect(output.status == 1)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        // The start line and the listen error; a poll of the simulated battery may log in between
        // on a loaded machine, and every line is held to the same rule.
        #expect(lines.count >= 2)
        #expect(lines.contains { $0.contains("address already in use") }, "\(lines)")
        for line in lines {
            #expect(line.hasPrefix("level=") == matching, "\(line)")
            #expect(line.hasPrefix("time=") == !matching, "\(line)")
        }
    }
}

/// A listening socket on an ephemeral loopback port, closed when released.
final class OccupiedPort {
    let number: Int
    private let descriptor: Int32

    struct Failed: Error {}

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 1) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard descriptor >= 0, bound else {
            if descriptor >= 0 { close(descriptor) }
            throw Failed()
        }
        self.descriptor = descriptor
        number = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
