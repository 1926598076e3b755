import Foundation

extension ChildProcess {
    /// Starts `executable` and waits (blocking, at most `limit`) for the first line it prints on
    /// stdout, which `expecting` must accept: how a helper says it is ready, so no test sleeps.
    /// On failure it is stopped and the end of its `stderr` file is quoted in the error. From
    /// async code, call it through `offCooperativePool`.
    public static func started(
        _ executable: String, _ arguments: [String], stderr: String, what: String,
        within limit: Duration = .seconds(15), expecting: (String) -> Bool
    ) throws -> ChildProcess {
        let child = try ChildProcess(executable, arguments, stderr: stderr)
        defer { close(child.stdout) }
        do {
            let line = try child.readLine(within: limit, what: what)
            guard expecting(line) else { throw ChildProcessError("\(what) printed \(line.debugDescription)") }
            return child
        } catch {
            child.terminate()
            let diagnostics = (try? String(contentsOfFile: stderr, encoding: .utf8)) ?? ""
            throw ChildProcessError("\(error); stderr: \(diagnostics.suffix(2000))")
        }
    }

    /// `Tests/FakeBlueZ/test-bus.conf`: a session-type bus with EXTERNAL auth and an allow-all
    /// policy, the one configuration every private test bus uses (the fake's Python harness too).
    static let testBusConfiguration = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("FakeBlueZ/test-bus.conf").path

    /// A private `dbus-daemon` listening at `address` (`unix:path=…` in a directory the caller
    /// owns, so a restarted daemon can listen there again), started as `started` does. Tests
    /// never touch the machine's real buses. The caller stops it with `terminate()`.
    public static func busDaemon(address: String, stderr: String) throws -> ChildProcess {
        try started(
            "/usr/bin/dbus-daemon",
            ["--nofork", "--config-file=\(testBusConfiguration)", "--address=\(address)", "--print-address=1"],
            stderr: stderr, what: "dbus-daemon", expecting: { $0.hasPrefix("unix:") })
    }
}
