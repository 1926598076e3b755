import Foundation
import Synchronization
import TestSupport

/// The fake serial BMS (Tests/FakeSerial) as a child process with its own temp dir; `close()`
/// ends it. A `ChildProcess`, so it inherits no other test's pipes and holds none open.
final class FakeSerialLine: Sendable {
    let directory: String
    let link: String
    let control: String
    private let child: ChildProcess
    private let stopped = Mutex(false)

    static func start() async throws -> FakeSerialLine {
        try await offCooperativePool { try FakeSerialLine() }
    }

    private init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fakeserial-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        link = directory + "/ttyBMS"
        control = directory + "/control.sock"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FakeSerial/fake_serial_bms.py").path
        // The suite-wide write log (scripts/test checks it) when set, so serial writes count too.
        let writeLog = ProcessInfo.processInfo.environment["FAKE_BLUEZ_WRITE_LOG"] ?? directory + "/writes.log"
        child = try ChildProcess(
            "/usr/bin/python3", [script, "--link", link, "--control", control, "--write-log", writeLog],
            stderr: directory + "/stderr")
        let line = try? child.readLine(within: .seconds(20), what: "fake serial BMS")
        guard line == "READY" else {
            let stderr = (try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? ""
            stop()
            throw HarnessError("fake serial BMS did not print READY (got \(line.debugDescription)): \(stderr)")
        }
    }

    /// One control command; the fake's reply as a dictionary, `ok` checked.
    @discardableResult
    func command(_ message: [String: Any]) async throws -> [String: Any] {
        let line = try JSONSerialization.data(withJSONObject: message) + Data("\n".utf8)
        let path = control
        let reply = try await offCooperativePool { try Self.roundTrip(line, to: path) }
        guard let object = try JSONSerialization.jsonObject(with: reply) as? [String: Any],
              object["ok"] as? Bool == true else {
            throw HarnessError("control \(message): \(String(decoding: reply, as: UTF8.self))")
        }
        return object
    }

    func setFaults(_ faults: [String: Any]) async throws {
        try await command(["cmd": "set_faults", "faults": faults])
    }

    func close() async {
        await offCooperativePool { self.stop() }
    }

    /// A test that fails before `close()` still ends its fake.
    deinit { stop() }

    private func stop() {
        guard stopped.withLock({ done in defer { done = true }; return !done }) else { return }
        child.terminate()
        Glibc.close(child.stdout)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func roundTrip(_ line: Data, to path: String) throws -> Data {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw HarnessError("connect \(path): errno \(errno)") }
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            throw HarnessError("control write failed")
        }
        guard let reply = readLine(fd, within: .seconds(20)) else { throw HarnessError("no control reply") }
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

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
