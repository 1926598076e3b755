import Foundation

/// The fake serial BMS (Tests/FakeSerial) as a child process with its own temp dir; `close()`
/// ends it. Spawned with posix_spawn because Foundation's `Process` on Linux reaps children
/// through a run loop the test workers never run.
final class FakeSerialLine: Sendable {
    let directory: String
    let link: String
    let control: String
    let pid: pid_t
    /// The child's stdout; its end of file says the child has exited.
    private let stdout: Int32

    static func start() async throws -> FakeSerialLine {
        try await offPool { try FakeSerialLine() }
    }

    private init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fakeserial-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        link = directory + "/ttyBMS"
        control = directory + "/control.sock"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FakeSerial/fake_serial_bms.py").path
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw HarnessError("pipe: errno \(errno)") }
        // Not inherited by children other tests spawn meanwhile (they would hold our pipe open).
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/stderr", O_WRONLY | O_CREAT, 0o644)
        // The suite-wide write log (scripts/test checks it) when set, so serial writes count too.
        let writeLog = ProcessInfo.processInfo.environment["FAKE_BLUEZ_WRITE_LOG"] ?? directory + "/writes.log"
        let arguments = ["/usr/bin/python3", script, "--link", link, "--control", control, "--write-log", writeLog]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // Test threads block signals and children inherit the mask: without a clean one the
        // fake would ignore the SIGTERM that ends it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let spawned = posix_spawn(&child, arguments[0], &actions, &attributes, argv, environ)
        Glibc.close(ends[1])
        guard spawned == 0 else {
            Glibc.close(ends[0])
            throw HarnessError("posix_spawn python3: \(spawned)")
        }
        pid = child
        stdout = ends[0]
        let line = Self.readLine(ends[0], within: .seconds(20))
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
        let reply = try await offPool { try Self.roundTrip(line, to: path) }
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
        await offPool { self.stop() }
    }

    /// SIGTERM; SIGKILL if the child's stdout has not closed (it exited) within 5 s; reap.
    private func stop() {
        kill(pid, SIGTERM)
        var drained = [UInt8](repeating: 0, count: 64)
        var entry = pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)
        while poll(&entry, 1, 5000) > 0, read(stdout, &drained, drained.count) > 0 {}
        if entry.revents == 0 { kill(pid, SIGKILL) }
        Glibc.close(stdout)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
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

/// Blocking harness work (spawning, waiting for READY, reaping) on a thread of its own, so it
/// never holds one of the cooperative pool's threads that the other tests need.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
