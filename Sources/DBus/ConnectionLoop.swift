import CDBus
import Glibc

/// Everything that lives on a connection's I/O thread: the libdbus connection, its watches,
/// the requests awaiting replies, the signal subscriptions and the exported objects.
///
/// Only the I/O thread touches an instance, so it needs no locks; callers reach it through
/// the ``CommandQueue`` and get answers through ``ReplyWaiters`` and `AsyncStream`s.
final class ConnectionLoop {
    /// A request sent to the bus whose reply we still expect, keyed by its serial.
    private struct Outstanding {
        enum Purpose {
            case call
            case addMatch(RequestID)
            /// Answered on this thread, with no task waiting (``DBusConnection/send(destination:path:interface:method:arguments:timeout:completion:)``).
            case completion(@Sendable (Result<[DBusValue], DBusError>) -> Void)
        }

        var request: RequestID
        var deadline: ContinuousClock.Instant
        var purpose: Purpose
    }

    private struct Subscription {
        enum State {
            case adding
            case active
            /// The consumer left while AddMatch was in flight: remove the rule once it is in place.
            case removeWhenAdded
        }

        var rule: MatchRule
        var sink: SignalSink
        var state: State
    }

    private let connection: OpaquePointer
    private let queue: CommandQueue
    private let waiters: ReplyWaiters
    private let timers: TimerTable
    fileprivate var watches: [OpaquePointer] = []
    private var outstanding: [UInt32: Outstanding] = [:]
    private var subscriptions: [RequestID: Subscription] = [:]
    private var exports: [ObjectPath: DBusMethodHandler] = [:]
    private var isStopping = false

    /// Takes over `connection` (one reference); from now on only the I/O thread may use it.
    init(connection: OpaquePointer, queue: CommandQueue, waiters: ReplyWaiters, timers: TimerTable) {
        self.connection = connection
        self.queue = queue
        self.waiters = waiters
        self.timers = timers
    }

    /// The I/O thread's body: returns once the connection is closed or lost.
    func run() {
        installCallbacks()
        while !isStopping {
            for command in queue.drain() {
                if isStopping { fail(command) } else { handle(command) }
            }
            if isStopping { break }
            // Messages may already sit in libdbus' queue without the socket being readable.
            while dbus_connection_dispatch(connection) == DBUS_DISPATCH_DATA_REMAINS {}
            if isStopping || dbus_connection_get_is_connected(connection) == 0 { break }
            expireDeadlines()
            waitForActivity()
        }
        shutDown()
    }

    // MARK: libdbus callbacks

    /// Registers the watch and filter callbacks, each holding its own retain of `self`,
    /// released by libdbus through the free function when the connection is finalised.
    private func installCallbacks() {
        let releaseLoop: DBusFreeFunction = { data in
            Unmanaged<ConnectionLoop>.fromOpaque(data!).release()
        }
        dbus_connection_set_watch_functions(
            connection,
            { watch, data in
                Unmanaged<ConnectionLoop>.fromOpaque(data!).takeUnretainedValue().watches.append(watch!)
                return 1
            },
            { watch, data in
                Unmanaged<ConnectionLoop>.fromOpaque(data!).takeUnretainedValue().watches.removeAll { $0 == watch }
            },
            // Enabled flags are read afresh before every poll(), so toggling needs no bookkeeping.
            { _, _ in },
            Unmanaged.passRetained(self).toOpaque(), releaseLoop)
        dbus_connection_add_filter(
            connection,
            { _, message, data in
                Unmanaged<ConnectionLoop>.fromOpaque(data!).takeUnretainedValue().receive(message!)
            },
            Unmanaged.passRetained(self).toOpaque(), releaseLoop)
    }

    private func waitForActivity() {
        var descriptors = [pollfd(fd: queue.wakeupDescriptor, events: Int16(POLLIN), revents: 0)]
        var polled: [OpaquePointer] = []
        for watch in watches where dbus_watch_get_enabled(watch) != 0 {
            let flags = dbus_watch_get_flags(watch)
            var events: Int16 = 0
            if flags & DBUS_WATCH_READABLE.rawValue != 0 { events |= Int16(POLLIN) }
            if flags & DBUS_WATCH_WRITABLE.rawValue != 0 { events |= Int16(POLLOUT) }
            descriptors.append(pollfd(fd: dbus_watch_get_unix_fd(watch), events: events, revents: 0))
            polled.append(watch)
        }
        guard poll(&descriptors, nfds_t(descriptors.count), millisecondsToNextDeadline()) > 0 else { return }
        if descriptors[0].revents != 0 { queue.consumeWakeup() }
        for (watch, descriptor) in zip(polled, descriptors.dropFirst()) where descriptor.revents != 0 {
            // Handling one watch can remove another; libdbus frees removed watches.
            guard watches.contains(watch) else { continue }
            var flags: UInt32 = 0
            if descriptor.revents & Int16(POLLIN) != 0 { flags |= DBUS_WATCH_READABLE.rawValue }
            if descriptor.revents & Int16(POLLOUT) != 0 { flags |= DBUS_WATCH_WRITABLE.rawValue }
            if descriptor.revents & Int16(POLLERR) != 0 { flags |= DBUS_WATCH_ERROR.rawValue }
            if descriptor.revents & Int16(POLLHUP) != 0 { flags |= DBUS_WATCH_HANGUP.rawValue }
            dbus_watch_handle(watch, flags)
        }
    }

    // MARK: Commands

    private func handle(_ command: Command) {
        switch command {
        case .call(let call, let request, let deadline):
            do {
                let message = try OutgoingMessage.methodCall(call)
                send(message, awaiting: Outstanding(request: request, deadline: deadline, purpose: .call))
            } catch {
                waiters.take(request)?.resume(throwing: error)
            }
        case .send(let call, let deadline, let completion):
            do {
                let message = try OutgoingMessage.methodCall(call)
                send(message, awaiting: Outstanding(request: 0, deadline: deadline, purpose: .completion(completion)))
            } catch {
                completion(.failure(error))
            }
        case .timersChanged:
            // Nothing to do here: the next poll() timeout includes the new deadline.
            break
        case .subscribe(let request, let rule, let sink, let deadline):
            subscribe(request, rule, sink, deadline)
        case .unsubscribe(let id):
            unsubscribe(id)
        case .emit(let signal, let request):
            do {
                send(try OutgoingMessage.signal(signal))
                waiters.take(request)?.resume(returning: [])
            } catch {
                waiters.take(request)?.resume(throwing: error)
            }
        case .reply(let address, let reply):
            answer(address, with: reply)
        case .export(let path, let handler):
            exports[path] = handler
        case .unexport(let path):
            exports[path] = nil
        case .close:
            isStopping = true
        }
    }

    /// Cleans up a command that arrives after shutdown began; waiters are failed in `shutDown`.
    private func fail(_ command: Command) {
        switch command {
        case .subscribe(_, _, let sink, _): sink.finish()
        case .send(_, _, let completion): completion(.failure(.disconnected))
        default: break
        }
    }

    private func subscribe(
        _ id: RequestID, _ rule: MatchRule, _ sink: SignalSink, _ deadline: ContinuousClock.Instant
    ) {
        // Registered before AddMatch is sent, so nothing the new rule lets through can be missed.
        subscriptions[id] = Subscription(rule: rule, sink: sink, state: .adding)
        do {
            let message = try OutgoingMessage.methodCall(OutgoingCall(
                destination: busName, path: busPath, interface: busName, method: "AddMatch",
                arguments: [.string(rule.description)]))
            send(message, awaiting: Outstanding(request: id, deadline: deadline, purpose: .addMatch(id)))
        } catch {
            subscriptions[id] = nil
            sink.finish()
            waiters.take(id)?.resume(throwing: error)
        }
    }

    private func unsubscribe(_ id: RequestID) {
        guard let subscription = subscriptions[id] else { return }
        switch subscription.state {
        case .active:
            subscriptions[id] = nil
            removeMatch(subscription.rule)
        case .adding:
            subscriptions[id]?.state = .removeWhenAdded
        case .removeWhenAdded:
            break
        }
    }

    private func removeMatch(_ rule: MatchRule) {
        if let message = try? OutgoingMessage.busNotification("RemoveMatch", [.string(rule.description)]) {
            send(message)
        }
    }

    private func answer(_ address: ReplyAddress, with reply: DBusMethodReply) {
        let message: OpaquePointer?
        switch reply {
        case .noReply:
            return
        case .values(let values):
            message = (try? OutgoingMessage.methodReturn(to: address, values: values))
                ?? (try? OutgoingMessage.error(
                    to: address, name: "org.freedesktop.DBus.Error.Failed", text: "handler returned invalid values"))
        case .error(let name, let text):
            message = (try? OutgoingMessage.error(to: address, name: name, text: text))
                ?? (try? OutgoingMessage.error(
                    to: address, name: "org.freedesktop.DBus.Error.Failed", text: "\(name): \(text)"))
        }
        if let message { send(message) }
    }

    /// Queues `message` and drops our reference; libdbus writes it as the socket allows.
    private func send(_ message: OpaquePointer, awaiting reply: Outstanding? = nil) {
        defer { dbus_message_unref(message) }
        var serial: UInt32 = 0
        guard dbus_connection_send(connection, message, &serial) != 0 else {
            if let reply { complete(reply, with: .failure(.disconnected)) }
            return
        }
        if let reply { outstanding[serial] = reply }
    }

    // MARK: Incoming messages

    private func receive(_ message: OpaquePointer) -> DBusHandlerResult {
        switch dbus_message_get_type(message) {
        case DBUS_MESSAGE_TYPE_METHOD_RETURN, DBUS_MESSAGE_TYPE_ERROR:
            receiveReply(message)
            return DBUS_HANDLER_RESULT_HANDLED
        case DBUS_MESSAGE_TYPE_SIGNAL:
            if dbus_message_is_signal(message, "org.freedesktop.DBus.Local", "Disconnected") != 0 {
                isStopping = true
            } else {
                deliver(message)
            }
            return DBUS_HANDLER_RESULT_HANDLED
        case DBUS_MESSAGE_TYPE_METHOD_CALL:
            // Unexported paths fall through to libdbus, which answers UnknownMethod.
            return receiveCall(message) ? DBUS_HANDLER_RESULT_HANDLED : DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        default:
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        }
    }

    private func receiveReply(_ message: OpaquePointer) {
        // A reply to a request that timed out or was never ours is dropped here.
        guard let request = outstanding.removeValue(forKey: dbus_message_get_reply_serial(message)) else { return }
        let result: Result<[DBusValue], DBusError>
        if dbus_message_get_type(message) == DBUS_MESSAGE_TYPE_ERROR {
            let text = (try? MessageReader.arguments(of: message))?.first?.value(as: String.self) ?? ""
            let name = MessageReader.text(dbus_message_get_error_name(message)) ?? "org.freedesktop.DBus.Error.Failed"
            result = .failure(.errorReply(name: name, message: text))
        } else {
            result = Result { () throws(DBusError) in try MessageReader.arguments(of: message) }
        }
        complete(request, with: result)
    }

    private func complete(_ request: Outstanding, with result: Result<[DBusValue], DBusError>) {
        if case .addMatch(let id) = request.purpose, let subscription = subscriptions[id] {
            switch (result, subscription.state) {
            case (.success, .removeWhenAdded):
                subscriptions[id] = nil
                removeMatch(subscription.rule)
            case (.success, _):
                subscriptions[id]?.state = .active
            case (.failure(let error), _):
                subscriptions[id] = nil
                subscription.sink.finish()
                // A late AddMatch may still succeed at the bus; the bus handles our messages in order.
                if error == .timeout { removeMatch(subscription.rule) }
            }
        }
        if case .completion(let completion) = request.purpose {
            completion(result)
            return
        }
        waiters.take(request.request)?.resume(with: result.mapError { $0 as any Error })
    }

    private func deliver(_ message: OpaquePointer) {
        guard !subscriptions.isEmpty, let path = MessageReader.text(dbus_message_get_path(message)) else { return }
        let sender = MessageReader.text(dbus_message_get_sender(message))
        let interface = MessageReader.text(dbus_message_get_interface(message))
        let member = MessageReader.text(dbus_message_get_member(message))
        let candidates = subscriptions.values.filter { subscription in
            subscription.state != .removeWhenAdded
                && subscription.rule.matchesHeader(
                    sender: sender, path: ObjectPath(path), interface: interface, member: member)
        }
        // The body is only converted when someone wants it; a body we cannot read is dropped.
        guard !candidates.isEmpty, let arguments = try? MessageReader.arguments(of: message) else { return }
        let signal = DBusSignal(
            sender: sender ?? "", path: ObjectPath(path), interface: interface ?? "", member: member ?? "",
            arguments: arguments)
        for subscription in candidates where subscription.rule.matches(signal) {
            subscription.sink.yield(signal)
        }
    }

    private func receiveCall(_ message: OpaquePointer) -> Bool {
        guard let rawPath = MessageReader.text(dbus_message_get_path(message)),
            let handler = exports[ObjectPath(rawPath)]
        else { return false }
        let address = ReplyAddress(
            destination: MessageReader.text(dbus_message_get_sender(message)), serial: dbus_message_get_serial(message))
        let wantsReply = dbus_message_get_no_reply(message) == 0
        let arguments: [DBusValue]
        do {
            arguments = try MessageReader.arguments(of: message)
        } catch {
            if wantsReply {
                answer(address, with: .error(name: "org.freedesktop.DBus.Error.InvalidArgs", message: "\(error)"))
            }
            return true
        }
        let call = DBusMethodCall(
            sender: address.destination ?? "", path: ObjectPath(rawPath),
            interface: MessageReader.text(dbus_message_get_interface(message)),
            member: MessageReader.text(dbus_message_get_member(message)) ?? "", arguments: arguments)
        let queue = self.queue
        // Handlers run in the task pool, never on the I/O thread, so a slow one stalls nothing.
        Task {
            let reply = await handler(call)
            if wantsReply { _ = queue.submit(.reply(address, reply)) }
        }
        return true
    }

    // MARK: Deadlines and shutdown

    private func expireDeadlines() {
        let now = ContinuousClock.now
        for (serial, request) in outstanding where request.deadline <= now {
            outstanding[serial] = nil
            complete(request, with: .failure(.timeout))
        }
        for action in timers.takeDue(now) { action() }
    }

    private func millisecondsToNextDeadline() -> Int32 {
        let calls = outstanding.values.lazy.map(\.deadline).min()
        let next = [calls, timers.earliest].compactMap { $0 }.min()
        guard let next else { return -1 }
        let remaining = ContinuousClock.now.duration(to: next)
        guard remaining > .zero else { return 0 }
        let (seconds, attoseconds) = remaining.components
        // poll() takes at most Int32.max ms (24 days); a caller's far deadline ("years") would
        // overflow the multiplication below, so it waits the longest poll() can and looks again.
        guard seconds < Int64(Int32.max) / 1000 else { return Int32.max }
        // Round up, or poll() would wake just before the deadline and spin.
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    /// Fails everything still waiting, finishes every stream, and releases the connection and its fds.
    private func shutDown() {
        for command in queue.close() { fail(command) }
        for waiter in waiters.takeAll() { waiter.resume(throwing: DBusError.disconnected) }
        let unanswered = outstanding.values
        outstanding = [:]
        for request in unanswered {
            if case .completion(let completion) = request.purpose { completion(.failure(.disconnected)) }
        }
        for action in timers.close() { action() }
        let ending = subscriptions.values
        subscriptions = [:]
        exports = [:]
        for subscription in ending { subscription.sink.finish() }
        dbus_connection_close(connection)
        dbus_connection_unref(connection)
    }
}
