import Foundation
import Synchronization

/// A child started with `posix_spawn`, stdout on a pipe, stderr to a file; reaped by `terminate()`.
///
/// (Foundation's `Process` on Linux learns of a child's exit through the run loop of the thread
/// that launched it, which a Swift Testing worker never runs, so waiting for it stalls.)
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The read end of the child's stdout; whoever reads it closes it.
    public let stdout: Int32
    private let reaped = Mutex(false)

    /// `stderr` is a path, opened for appending (created if missing).
    public init(_ executable: String, _ arguments: [String], stderr: String) throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ChildProcessError("pipe: errno \(errno)") }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        // Foundation's pipes are not close-on-exec: a long-lived child (a bus daemon) spawned while
        // another test runs a process would keep that process's stdout open, and the test's read
        // to end of file would never end.
        Self.closeInheritedDescriptors(&actions)
        // Threads of the test process may block signals; the child must start with a clean slate,
        // or it ignores the SIGTERM meant to stop it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(ends[1])
        guard result == 0 else {
            close(ends[0])
            throw ChildProcessError("posix_spawn \(executable): \(result)")
        }
        self.pid = pid
        stdout = ends[0]
    }

    /// SIGKILL and reap, like a crash: the child gets no chance to clean up. Safe to call twice.
    public func killAbruptly() {
        guard claimReaping() else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    /// SIGTERM, SIGKILL after 5 s, and reap; only ever this child's pid. Safe to call twice.
    public func terminate() {
        guard claimReaping() else { return }
        kill(pid, SIGTERM)
        let pid = self.pid
        let exited = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            exited.signal()
        }
        if exited.wait(timeout: .now() + 5) == .timedOut {
            kill(pid, SIGKILL)
            exited.wait()
        }
    }

    /// The next line the child prints on stdout (without its newline), waiting at most `limit`;
    /// `what` names the child in errors.
    public func readLine(within limit: Duration, what: String) throws -> String {
        let deadline = ContinuousClock.now + limit
        var bytes: [UInt8] = []
        while !bytes.contains(UInt8(ascii: "\n")) {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw ChildProcessError("\(what): no line within \(limit)") }
            var poller = pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(remaining.components.seconds * 1000 + 10)) > 0 else { continue }
            // One byte at a time: nothing past the line is consumed.
            var byte: UInt8 = 0
            guard read(stdout, &byte, 1) == 1 else { throw ChildProcessError("\(what) exited before printing a line") }
            bytes.append(byte)
        }
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }

    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does
    /// not import: looked up at run time, and skipped where the C library lacks it.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        _ = addCloseFrom?(&actions, 3)
    }

    /// True for the first caller only: a pid is reaped once, or a later call could signal a
    /// stranger that inherited the number.
    private func claimReaping() -> Bool {
        reaped.withLock { done in
            defer { done = true }
            return !done
        }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
