/// # DBus: a small Swift client (and minimal server) for the D-Bus message bus, over libdbus
///
/// ```swift
/// let bus = try DBusConnection.system()        // honours DBUS_SYSTEM_BUS_ADDRESS
/// defer { bus.close() }
///
/// // Call with an explicit timeout, decode a{oa{sa{sv}}} in one line.
/// let objects = try await bus.call(
///     destination: "org.bluez", path: "/", interface: "org.freedesktop.DBus.ObjectManager",
///     method: "GetManagedObjects", timeout: .seconds(5)
/// ).decode([ObjectPath: [String: [String: DBusValue]]].self)
/// let connected = objects["/org/bluez/hci0/dev_A4_C1_38_00_00_01"]?["org.bluez.Device1"]?["Connected"]?
///     .value(as: Bool.self)
///
/// // Subscribe first, then read state: the match rule is in place when this returns.
/// let changes = try await bus.signals(matching: MatchRule(
///     sender: "org.bluez", pathNamespace: "/org/bluez/hci0",
///     interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
/// for await signal in changes { … }               // cancelling this task removes the match
///
/// // a{sv} arguments.
/// _ = try await bus.call(
///     destination: "org.bluez", path: "/org/bluez/hci0", interface: "org.bluez.Adapter1",
///     method: "SetDiscoveryFilter",
///     arguments: [.vardict(["Transport": "le", "UUIDs": .strings(["ff00"])])], timeout: .seconds(5))
/// ```
///
/// Errors are ``DBusError``: `.errorReply(name:message:)` for D-Bus errors, `.timeout`,
/// `.disconnected` once the bus is gone (never a process exit). Cancelling the calling task
/// abandons the call and throws `CancellationError`.
///
/// Threading: each connection owns one I/O thread (named `dbus-io`) that makes every libdbus
/// call. It sleeps in `poll()` on libdbus' watches and an eventfd; callers queue commands and
/// write the eventfd, so nobody waits for a poll timeout. Replies are matched to requests by
/// serial on that thread, converted to ``DBusValue``s there, and handed back through
/// continuations; call deadlines are the poll timeout. No libdbus message leaves the thread.

import CDBus
import Glibc

/// libdbus must be told to use locks before any other thread touches it; Swift runs this once.
private let libdbusThreadsReady: Bool = dbus_threads_init_default() != 0

/// One private connection to a D-Bus bus, with its own I/O thread; `close()` releases everything.
public final class DBusConnection: Sendable {
    /// The name the bus assigned to this connection, e.g. `:1.42`.
    public let uniqueName: String
    private let queue: CommandQueue
    private let waiters: ReplyWaiters
    private let timers = TimerTable()
    private let thread: IOThread

    /// Connects to the system bus at `DBUS_SYSTEM_BUS_ADDRESS`, or at its standard socket.
    ///
    /// The variable is read on every call, unlike libdbus' `dbus_bus_get`, which caches it.
    public static func system() throws -> DBusConnection {
        let address = getenv("DBUS_SYSTEM_BUS_ADDRESS").map { String(cString: $0) }
        return try DBusConnection(address: address ?? "unix:path=/var/run/dbus/system_bus_socket")
    }

    /// Connects to the bus at `address` (e.g. `unix:path=/run/dbus/system_bus_socket`) and registers with it.
    ///
    /// Registration (`Hello`) happens here, before the I/O thread starts, and so blocks briefly.
    public init(address: String) throws {
        guard libdbusThreadsReady else { throw DBusError.connectionFailed(name: "libdbus", message: "no thread support") }
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        guard let connection = dbus_connection_open_private(address, &error) else {
            throw Self.connectionFailed(error)
        }
        // Otherwise libdbus calls _exit() when the bus goes away.
        dbus_connection_set_exit_on_disconnect(connection, 0)
        guard dbus_bus_register(connection, &error) != 0, let name = dbus_bus_get_unique_name(connection) else {
            dbus_connection_close(connection)
            dbus_connection_unref(connection)
            throw Self.connectionFailed(error)
        }
        uniqueName = String(cString: name)
        do {
            queue = try CommandQueue()
        } catch {
            dbus_connection_close(connection)
            dbus_connection_unref(connection)
            throw error
        }
        waiters = ReplyWaiters()
        let loop = ConnectionLoop(connection: connection, queue: queue, waiters: waiters, timers: timers)
        do {
            thread = try IOThread(name: "dbus-io") { loop.run() }
        } catch {
            // No I/O thread exists, so this thread may still release what it would have owned.
            _ = queue.close()
            dbus_connection_close(connection)
            dbus_connection_unref(connection)
            throw error
        }
    }

    deinit {
        close()
    }

    /// Whether the connection is still usable; false after `close()` or once the bus is lost.
    public var isConnected: Bool { queue.isOpen }

    /// Closes the connection and waits for its I/O thread to end.
    /// Pending calls throw ``DBusError/disconnected`` and signal streams finish.
    public func close() {
        _ = queue.submit(.close)
        thread.join()
    }

    // MARK: Client

    /// Calls `method` and returns the reply's arguments.
    ///
    /// Throws ``DBusError/errorReply(name:message:)``, ``DBusError/timeout`` after `timeout`,
    /// ``DBusError/disconnected``, or `CancellationError` when the task is cancelled.
    public func call(
        destination: String, path: ObjectPath, interface: String?, method: String,
        arguments: [DBusValue] = [], timeout: Duration
    ) async throws -> [DBusValue] {
        let call = OutgoingCall(
            destination: destination, path: path, interface: interface, method: method, arguments: arguments)
        let deadline = ContinuousClock.now + timeout
        return try await perform(waiters.makeID()) { .call(call, $0, deadline: deadline) }
    }

    /// Subscribes to the signals matching `rule`; the bus has added the rule when this returns.
    ///
    /// Ending the stream (cancelling the consuming task, or dropping the stream) removes the
    /// rule. It finishes when the connection closes. It buffers without bound unless told otherwise.
    public func signals(
        matching rule: MatchRule, timeout: Duration = .seconds(25),
        bufferingPolicy: AsyncStream<DBusSignal>.Continuation.BufferingPolicy = .unbounded
    ) async throws -> AsyncStream<DBusSignal> {
        let (stream, continuation) = AsyncStream<DBusSignal>.makeStream(bufferingPolicy: bufferingPolicy)
        let id = waiters.makeID()
        let queue = self.queue
        continuation.onTermination = { _ in _ = queue.submit(.unsubscribe(id)) }
        let deadline = ContinuousClock.now + timeout
        do {
            _ = try await perform(id) { .subscribe($0, rule, .stream(continuation), deadline: deadline) }
        } catch {
            continuation.finish()
            throw error
        }
        return stream
    }

    /// Calls `handler` on the connection's I/O thread for every signal matching `rule`, in the
    /// order they arrive, until the returned subscription is cancelled; `ended` runs once (also on
    /// that thread) when the connection closes. The bus has added the rule when this returns.
    ///
    /// Unlike ``signals(matching:timeout:bufferingPolicy:)`` no task is woken per signal, which
    /// is what a battery-powered host wants for a stream of notifications. `handler` must not
    /// block: replies to every caller are read on the same thread.
    public func onSignals(
        matching rule: MatchRule, timeout: Duration = .seconds(25),
        ended: @escaping @Sendable () -> Void = {}, handler: @escaping @Sendable (DBusSignal) -> Void
    ) async throws -> SignalSubscription {
        let id = waiters.makeID()
        let deadline = ContinuousClock.now + timeout
        let ending = EndOnce(ended)
        _ = try await perform(id) { .subscribe($0, rule, .handler(handler, ended: { ending.run() }), deadline: deadline) }
        return SignalSubscription(queue: queue, id: id)
    }

    /// Calls `method` without a task waiting for the answer: `completion` gets the reply's
    /// arguments or the error (``DBusError/timeout`` after `timeout`, ``DBusError/disconnected``)
    /// on the I/O thread, exactly once. It must not block.
    public func send(
        destination: String, path: ObjectPath, interface: String?, method: String,
        arguments: [DBusValue] = [], timeout: Duration,
        completion: @escaping @Sendable (Result<[DBusValue], DBusError>) -> Void
    ) {
        let call = OutgoingCall(
            destination: destination, path: path, interface: interface, method: method, arguments: arguments)
        if !queue.submit(.send(call, deadline: ContinuousClock.now + timeout, completion)) {
            completion(.failure(.disconnected))
        }
    }

    /// Runs `action` on the I/O thread at `deadline`, unless the timer is cancelled first. After
    /// `close()` (or once the bus is lost) pending actions run at once, and new ones run right away
    /// on the calling thread: a deadline is never silently dropped. `action` must not block.
    public func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> DBusTimer {
        guard let id = timers.add(deadline, action) else {
            action()
            return DBusTimer(table: timers, id: nil)
        }
        // The I/O thread may be asleep with a later poll() timeout; the command wakes it, and
        // shares the wake-up with any command queued right after (such as the request itself).
        if !queue.submit(.timersChanged), timers.cancel(id) { action() }
        return DBusTimer(table: timers, id: id)
    }

    // MARK: Server

    /// Answers method calls to `path` (any interface) with `handler`, which runs as its own task.
    /// The connection keeps `handler` until `unexport` or `close()`.
    public func export(_ path: ObjectPath, handler: @escaping DBusMethodHandler) {
        _ = queue.submit(.export(path, handler))
    }

    /// Stops answering calls to `path`; later calls get `UnknownMethod`.
    public func unexport(_ path: ObjectPath) {
        _ = queue.submit(.unexport(path))
    }

    /// Broadcasts a signal; returns once it is queued for sending, in order with later messages.
    /// Only the tests emit signals (they play bluetoothd's part), so this is not public API: a
    /// test reaches it with `@_spi(Testing) import DBus`, and scripts/check-imports refuses that
    /// import in Sources/.
    @_spi(Testing)
    public func emitSignal(
        path: ObjectPath, interface: String, member: String, arguments: [DBusValue] = []
    ) async throws {
        let signal = OutgoingSignal(path: path, interface: interface, member: member, arguments: arguments)
        _ = try await perform(waiters.makeID()) { .emit(signal, $0) }
    }

    // MARK: Plumbing

    /// Queues the command made for request `id` and suspends until the I/O thread, a cancellation
    /// or a shutdown resumes it.
    private func perform(_ id: RequestID, _ command: (RequestID) -> Command) async throws -> [DBusValue] {
        try Task.checkCancellation()
        let waiters = self.waiters
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard waiters.register(id, continuation) else { return }
                if !queue.submit(command(id)) {
                    waiters.take(id)?.resume(throwing: DBusError.disconnected)
                }
            }
        } onCancel: {
            waiters.take(id)?.resume(throwing: CancellationError())
        }
    }

    private static func connectionFailed(_ error: CDBus.DBusError) -> DBusError {
        .connectionFailed(
            name: error.name.map { String(cString: $0) } ?? "org.freedesktop.DBus.Error.Failed",
            message: error.message.map { String(cString: $0) } ?? "")
    }
}

/// A subscription made with ``DBusConnection/onSignals(matching:timeout:ended:handler:)``.
public final class SignalSubscription: Sendable {
    private let queue: CommandQueue
    private let id: RequestID

    init(queue: CommandQueue, id: RequestID) {
        self.queue = queue
        self.id = id
    }

    /// Removes the match rule; signals already being delivered may still reach the handler.
    public func cancel() {
        _ = queue.submit(.unsubscribe(id))
    }
}

/// Runs a closure at most once, whichever path ends a subscription first.
private final class EndOnce: Sendable {
    private let action: Locked<(@Sendable () -> Void)?>

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = Locked(action)
    }

    func run() {
        let action = self.action.withLock { action in
            defer { action = nil }
            return action
        }
        action?()
    }
}
