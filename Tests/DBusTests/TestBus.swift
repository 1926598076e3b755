import Foundation
import Synchronization

/// A private `dbus-daemon` in a temporary directory, stopped and removed on deinit.
/// Tests never touch the machine's real buses.
final class TestBus: Sendable {
    /// The address to connect to, as printed by the daemon.
    let address: String
    private let directory: String
    private let pid: pid_t
    private let hasExited = Mutex(false)

    init() throws {
        var template = Array("/tmp/dbus-tests.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestBusError.setup("mkdtemp: errno \(errno)") }
        directory = String(cString: created)
        do {
            let config = directory + "/bus.conf"
            try Self.configuration(listeningIn: directory).write(toFile: config, atomically: true, encoding: .utf8)
            (pid, address) = try Self.spawnDaemon(config: config)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the daemon (only the one this object started) and reaps it; safe to call twice.
    func stop() {
        let pid = self.pid
        hasExited.withLock { hasExited in
            guard !hasExited else { return }
            hasExited = true
            kill(pid, SIGTERM)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
    }

    private static func configuration(listeningIn directory: String) -> String {
        """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>session</type>
          <listen>unix:dir=\(directory)</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow send_destination="*" eavesdrop="true"/>
            <allow eavesdrop="true"/>
            <allow own="*"/>
          </policy>
        </busconfig>
        """
    }

    /// Starts `dbus-daemon --print-address` and reads the address from its stdout, under a deadline.
    private static func spawnDaemon(config: String) throws -> (pid_t, String) {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw TestBusError.setup("pipe: errno \(errno)") }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        // Keep both ends out of other children; dup2 clears the flag on the daemon's stdout.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        // The daemon complains about fd limits on stderr; the tests do not need that noise.
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = ["dbus-daemon", "--config-file=\(config)", "--nofork", "--print-address"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // A child inherits the spawning thread's signal mask, and the Swift runtime's threads
        // block signals: without this the daemon would ignore our SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultTerm = sigset_t()
        sigemptyset(&defaultTerm)
        sigaddset(&defaultTerm, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaultTerm)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/dbus-daemon", &actions, &attributes, &argv, environ)
        close(writeEnd)
        guard spawned == 0 else { throw TestBusError.setup("posix_spawn: \(spawned)") }

        do {
            return (pid, try readLine(from: readEnd, within: .seconds(10)))
        } catch {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            throw error
        }
    }

    private static func readLine(from descriptor: Int32, within limit: Duration) throws -> String {
        let deadline = ContinuousClock.now + limit
        var bytes: [UInt8] = []
        while !bytes.contains(UInt8(ascii: "\n")) {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw TestBusError.setup("dbus-daemon printed no address") }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(remaining.components.seconds * 1000 + 1)
            guard poll(&poller, 1, milliseconds) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 256)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { throw TestBusError.setup("dbus-daemon exited before printing its address") }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }
}

enum TestBusError: Error {
    case setup(String)
}
