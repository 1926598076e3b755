import CDBus
import Glibc

/// Identifies one awaited request or one subscription across threads.
typealias RequestID = UInt64

/// What callers ask the I/O thread to do.
enum Command: Sendable {
    case call(OutgoingCall, RequestID, deadline: ContinuousClock.Instant)
    /// A call whose answer goes to a closure on the I/O thread instead of a waiting task.
    case send(OutgoingCall, deadline: ContinuousClock.Instant, @Sendable (Result<[DBusValue], DBusError>) -> Void)
    case subscribe(RequestID, MatchRule, SignalSink, deadline: ContinuousClock.Instant)
    /// A deadline was added to the ``TimerTable``: recompute the poll() timeout.
    case timersChanged
    case unsubscribe(RequestID)
    case emit(OutgoingSignal, RequestID)
    case reply(ReplyAddress, DBusMethodReply)
    case export(ObjectPath, DBusMethodHandler)
    case unexport(ObjectPath)
    case close
}

/// Hands commands to the I/O thread and wakes its `poll()` through an eventfd.
final class CommandQueue: Sendable {
    private struct State {
        var commands: [Command] = []
        var isOpen = true
    }

    private let state = Locked(State())
    /// Polled and drained by the I/O thread, which alone closes it (under the lock, in `close`).
    let wakeupDescriptor: Int32

    init() throws(DBusError) {
        let descriptor = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard descriptor >= 0 else { throw .connectionFailed(name: "eventfd", message: "errno \(errno)") }
        wakeupDescriptor = descriptor
    }

    /// Whether commands are still accepted.
    var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Queues `command`; false once the I/O thread has shut down.
    func submit(_ command: Command) -> Bool {
        state.withLock { state in
            guard state.isOpen else { return false }
            state.commands.append(command)
            // One wake-up per batch: the I/O thread drains the whole queue each time.
            if state.commands.count == 1 {
                var one: UInt64 = 1
                _ = write(wakeupDescriptor, &one, MemoryLayout<UInt64>.size)
            }
            return true
        }
    }

    /// Takes every queued command; I/O thread only.
    func drain() -> [Command] {
        state.withLock { state in
            defer { state.commands = [] }
            return state.commands
        }
    }

    /// Resets the eventfd after `poll()` reported it; I/O thread only.
    func consumeWakeup() {
        var count: UInt64 = 0
        _ = read(wakeupDescriptor, &count, MemoryLayout<UInt64>.size)
    }

    /// Refuses further commands, closes the eventfd, and returns what was still queued; I/O thread only.
    func close() -> [Command] {
        state.withLock { state in
            guard state.isOpen else { return [] }
            state.isOpen = false
            Glibc.close(wakeupDescriptor)
            defer { state.commands = [] }
            return state.commands
        }
    }
}

/// Where a subscription's signals go: a stream a task reads, or a handler called on the I/O thread.
enum SignalSink: Sendable {
    case stream(AsyncStream<DBusSignal>.Continuation)
    case handler(@Sendable (DBusSignal) -> Void, ended: @Sendable () -> Void)

    func yield(_ signal: DBusSignal) {
        switch self {
        case .stream(let continuation): continuation.yield(signal)
        case .handler(let handler, _): handler(signal)
        }
    }

    func finish() {
        switch self {
        case .stream(let continuation): continuation.finish()
        case .handler(_, let ended): ended()
        }
    }
}
