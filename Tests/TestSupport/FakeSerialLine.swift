import Foundation
import Synchronization

/// The fake serial BMS (Tests/FakeSerial) as a child process with its own temp dir; `close()`
/// ends it. A `ChildProcess`, so it inherits no other test's pipes and holds none open. The one
/// wrapper of the fake: the SerialPort, SerialLink and end-to-end tests all start it through here.
public final class FakeSerialLine: Sendable {
    public let directory: String
    /// The name a client opens: a symlink to the pty's slave, like a /dev/serial/by-id/… name.
    public let link: String
    public let control: String
    private let child: ChildProcess
    private let stopped = Mutex(false)
    public var pid: pid_t { child.pid }

    /// Starts the fake; `battery` is the `--battery` JSON shape (`bms`, `faults`, `delays`).
    public static func start(battery: [String: Any]? = nil) async throws -> FakeSerialLine {
        let json = try battery.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        return try await offCooperativePool { try FakeSerialLine(battery: json) }
    }

    private init(battery: String?) throws {
        directory = try TestDirectory("fakeserial").path
        link = directory + "/ttyBMS"
        control = directory + "/control.sock"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FakeSerial/fake_serial_bms.py").path
        // The suite-wide write log (scripts/test checks it) when set, so serial writes count too.
        let writeLog = ProcessInfo.processInfo.environment["FAKE_BLUEZ_WRITE_LOG"] ?? directory + "/writes.log"
        let arguments = ["/usr/bin/python3", script, "--link", link, "--control", control, "--write-log", writeLog]
            + (battery.map { ["--battery", $0] } ?? [])
        do {
            child = try ChildProcess.started(
                arguments[0], Array(arguments.dropFirst()), stderr: directory + "/stderr", what: "fake serial BMS",
                within: .seconds(20), expecting: { $0 == "READY" })
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw FakeSerialError("\(error)")
        }
    }

    /// One control command; the fake's reply as a dictionary, `ok` checked.
    @discardableResult
    public func command(_ message: [String: Any]) async throws -> [String: Any] {
        let line = try JSONSerialization.data(withJSONObject: message) + Data("\n".utf8)
        let path = control
        let reply = try await offCooperativePool { try Self.roundTrip(line, to: path) }
        guard let object = try JSONSerialization.jsonObject(with: reply) as? [String: Any],
              object["ok"] as? Bool == true else {
            throw FakeSerialError("control \(message): \(String(decoding: reply, as: UTF8.self))")
        }
        return object
    }

    public func setFaults(_ faults: [String: Any]) async throws {
        try await command(["cmd": "set_faults", "faults": faults])
    }

    public func setBMS(_ values: [String: Any]) async throws {
        try await command(["cmd": "set_bms", "bms": values])
    }

    /// The fake's `get_state`: values, remaining faults, request counts, plugged or not.
    public func state() async throws -> [String: Any] {
        try await command(["cmd": "get_state"])["state"] as? [String: Any] ?? [:]
    }

    public func close() async {
        await offCooperativePool { self.stop() }
    }

    /// A test that fails before `close()` still ends its fake.
    deinit { stop() }

    private func stop() {
        guard stopped.withLock({ done in defer { done = true }; return !done }) else { return }
        child.terminate()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func roundTrip(_ line: Data, to path: String) throws -> Data {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FakeSerialError("socket: errno \(errno)") }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw FakeSerialError("connect \(path): errno \(errno)") }
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            throw FakeSerialError("control write failed")
        }
        guard let reply = readLine(fd, within: .seconds(20)) else { throw FakeSerialError("no control reply") }
        return Data(reply.utf8)
    }

    /// A line from `fd` without its newline, or nil at end of file or after `limit`.
    private static func readLine(_ fd: Int32, within limit: Duration) -> String? {
        let deadline = ContinuousClock.now + limit
        var bytes: [UInt8] = []
        while bytes.last != UInt8(ascii: "\n") {
            let remaining = ContinuousClock.now.duration(to: deadline)
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard remaining > .zero, poll(&entry, 1, Int32(remaining.components.seconds * 1000 + 1)) > 0 else { return nil }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { return nil }
            bytes.append(byte)
        }
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }
}

/// A fake that would not start or answer, with what it said.
public struct FakeSerialError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
