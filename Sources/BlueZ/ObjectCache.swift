import Basics
import DBus
import Synchronization

/// What a listener hears about the one object it watches.
enum ObjectChange: Sendable {
    /// `PropertiesChanged` on that object (also for values that repeat, such as notifications).
    case properties(interface: String, changed: [String: DBusValue], invalidated: [String])
    /// Some or all of its interfaces were removed.
    case interfacesRemoved([String])
    /// bluetoothd or the bus went away; no further changes will come and the listener is dropped.
    case gone(BlueZError)
}

/// A read-only look at the cached tree, handed to conditions and lookups.
///
/// The tree is kept decoded (`BlueZObject`), so a wait's condition, evaluated on every signal,
/// reads a field rather than decoding D-Bus values.
struct CacheView: Sendable {
    let objects: [ObjectPath: BlueZObject]
    /// How often each device's `Connected` went to false, so a wait can tell a drop that happened
    /// after it started from a stale false it reads before the signal saying true was applied.
    var drops: [ObjectPath: Int] = [:]

    func adapter(_ path: ObjectPath) -> AdapterProperties? {
        objects[path]?.adapter
    }

    func device(_ path: ObjectPath) -> DeviceProperties? {
        objects[path]?.device
    }

    func service(_ path: ObjectPath) -> GattServiceProperties? {
        objects[path]?.service
    }

    func characteristic(_ path: ObjectPath) -> GattCharacteristicProperties? {
        objects[path]?.characteristic
    }

    func has(_ path: ObjectPath, _ interface: String) -> Bool {
        objects[path]?.has(interface) == true
    }

    /// Objects carrying `interface`, in path order.
    func paths(with interface: String) -> [ObjectPath] {
        objects.filter { $0.value.has(interface) }.keys.sorted()
    }
}

/// BlueZ's object tree, kept current from `InterfacesAdded`/`InterfacesRemoved`/`PropertiesChanged`,
/// with level-triggered waits ("until ServicesResolved or Connected=false") and per-object listeners.
///
/// Signals are only applied when they come from the current owner of `org.bluez`; while the
/// tree is (re)loading they are buffered and replayed over the snapshot, so no change is lost
/// between `GetManagedObjects` and its reply, and nothing from a dead bluetoothd sneaks back in.
final class ObjectCache: Sendable {
    enum Status: Sendable, Equatable {
        /// Waiting for `GetManagedObjects`; `expectedOwner` is nil for the first load.
        case loading(expectedOwner: String?)
        case running(owner: String)
        /// bluetoothd is not on the bus.
        case absent
        /// The bus connection is gone for good.
        case closed(BlueZError)
    }

    private struct Waiter {
        /// Resumes the waiting task and returns true when its condition holds.
        let evaluate: @Sendable (CacheView) -> Bool
        let fail: @Sendable (BlueZError) -> Void
        /// Kept, not failed, while bluetoothd is away (waits for it to come back).
        var survivesRestart = false
    }

    private struct Listener {
        let path: ObjectPath
        let handler: @Sendable (ObjectChange) -> Void
    }

    private struct State {
        var objects: [ObjectPath: BlueZObject] = [:]
        var drops: [ObjectPath: Int] = [:]
        var status = Status.loading(expectedOwner: nil)
        /// Counts bluetoothd lifetimes seen: state tied to one (discovery sessions) checks it.
        var epoch: UInt64 = 0
        var buffered: [DBusSignal] = []
        var waiters: [UInt64: Waiter] = [:]
        var listeners: [UInt64: Listener] = [:]
        var nextID: UInt64 = 0
        /// Waiter ids that are finished (resumed or failed) before their registration: none are kept.
        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }
    }

    /// Enough for a burst of signals during a reload; older ones are superseded by the snapshot anyway.
    private static let bufferLimit = 10_000
    private let state = Mutex(State())

    var status: Status { state.withLock { $0.status } }
    var epoch: UInt64 { state.withLock { $0.epoch } }
    var view: CacheView { state.withLock { CacheView(objects: $0.objects, drops: $0.drops) } }

    /// The error operations get in the current status, or nil when the tree is usable.
    private static func unavailable(_ status: Status) -> BlueZError? {
        switch status {
        case .running, .loading: nil
        case .absent: .serviceUnknown
        case .closed(let error): error
        }
    }

    // MARK: Feeding

    /// One signal from `org.bluez` (any interface); applied, buffered or dropped by sender.
    func receive(_ signal: DBusSignal) {
        var notifications: [(@Sendable (ObjectChange) -> Void, ObjectChange)] = []
        state.withLock { state in
            switch state.status {
            case .running(let owner):
                guard signal.sender == owner else { return }
                Self.apply(signal, to: &state, notifying: &notifications)
                Self.evaluateWaiters(&state)
            case .loading, .absent:
                if state.buffered.count < Self.bufferLimit { state.buffered.append(signal) }
            case .closed:
                return
            }
        }
        for (handler, change) in notifications { handler(change) }
    }

    /// A new owner of `org.bluez` appeared: a snapshot from it is on its way.
    func ownerAppeared(_ owner: String) {
        state.withLock { state in
            if case .closed = state.status { return }
            state.status = .loading(expectedOwner: owner)
        }
    }

    /// The `GetManagedObjects` answer of `owner`; ignored unless that owner is the one expected.
    func load(owner: String, objects: [ObjectPath: InterfaceMap]) {
        // Decoded before taking the lock, so the I/O thread applying signals is not held up by a large tree.
        let objects = objects.mapValues(BlueZObject.init)
        var notifications: [(@Sendable (ObjectChange) -> Void, ObjectChange)] = []
        state.withLock { state in
            guard case .loading(let expected) = state.status, expected == nil || expected == owner else { return }
            state.status = .running(owner: owner)
            state.epoch += 1
            state.objects = objects
            let replay = state.buffered
            state.buffered = []
            for signal in replay where signal.sender == owner {
                Self.apply(signal, to: &state, notifying: &notifications)
            }
            Self.evaluateWaiters(&state)
        }
        for (handler, change) in notifications { handler(change) }
    }

    /// bluetoothd left the bus: every cached path is dropped, waits fail, listeners hear `gone`.
    func ownerLost() {
        end(with: .absent, error: .serviceUnknown)
    }

    /// The bus connection ended.
    func close(_ error: BlueZError) {
        end(with: .closed(error), error: error)
    }

    private func end(with status: Status, error: BlueZError) {
        let (waiters, listeners) = state.withLock { state -> ([Waiter], [Listener]) in
            if case .closed = state.status { return ([], []) }
            state.status = status
            state.objects = [:]
            state.buffered = []
            let keep = status == .absent ? state.waiters.filter { $0.value.survivesRestart } : [:]
            defer {
                state.waiters = keep
                state.listeners = [:]
            }
            return (state.waiters.filter { keep[$0.key] == nil }.map(\.value), Array(state.listeners.values))
        }
        for waiter in waiters { waiter.fail(error) }
        for listener in listeners { listener.handler(.gone(error)) }
    }

    // MARK: Reading

    /// The tree once it is loaded; throws when bluetoothd is absent or the bus is gone.
    func ready(within timeout: Duration = .seconds(10)) async throws(BlueZError) -> CacheView {
        try await wait(timeout: timeout, "bluetoothd's object tree did not load within \(DurationText.format(timeout))") { $0 }
    }

    /// Waits until `condition` returns a value for the current tree, at most `timeout`.
    ///
    /// Fails at once, and later, with `serviceUnknown` when bluetoothd goes away, and with the
    /// bus error when the connection ends.
    func wait<T: Sendable>(
        timeout: Duration, _ what: @autoclosure () -> String, survivingRestart: Bool = false,
        _ condition: @escaping @Sendable (CacheView) -> T?
    ) async throws(BlueZError) -> T {
        do {
            let message = what()
            return try await withDeadline(ContinuousClock.now + timeout, orThrow: { BlueZError.timeout(message) }) {
                try await self.wait(survivingRestart: survivingRestart, condition)
            }
        } catch {
            throw BlueZError(error)
        }
    }

    private func wait<T: Sendable>(
        survivingRestart: Bool, _ condition: @escaping @Sendable (CacheView) -> T?
    ) async throws -> T {
        let id = state.withLock { $0.makeID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                state.withLock { state in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    if let error = Self.unavailable(state.status), !(survivingRestart && error == .serviceUnknown) {
                        continuation.resume(throwing: error)
                        return
                    }
                    var waiter = Waiter(
                        evaluate: { view in
                            guard let value = condition(view) else { return false }
                            continuation.resume(returning: value)
                            return true
                        },
                        fail: { continuation.resume(throwing: $0) })
                    waiter.survivesRestart = survivingRestart
                    if case .running = state.status, waiter.evaluate(CacheView(objects: state.objects, drops: state.drops)) { return }
                    state.waiters[id] = waiter
                }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.fail(.cancelled)
        }
    }

    /// Calls `handler` for every change of `path` until the returned subscription is cancelled.
    /// Returns the tree as it was when the listener was added, so the caller misses nothing.
    func listen(
        to path: ObjectPath, _ handler: @escaping @Sendable (ObjectChange) -> Void
    ) throws(BlueZError) -> (Subscription, CacheView) {
        let result = state.withLock { state -> Result<(UInt64, CacheView), BlueZError> in
            if let error = Self.unavailable(state.status) { return .failure(error) }
            let id = state.makeID()
            state.listeners[id] = Listener(path: path, handler: handler)
            return .success((id, CacheView(objects: state.objects, drops: state.drops)))
        }
        let (id, view) = try result.get()
        return (Subscription { [weak self] in self?.removeListener(id) }, view)
    }

    private func removeListener(_ id: UInt64) {
        _ = state.withLock { $0.listeners.removeValue(forKey: id) }
    }

    var listenerCount: Int { state.withLock { $0.listeners.count } }
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    // MARK: Applying signals

    private static func evaluateWaiters(_ state: inout State) {
        guard !state.waiters.isEmpty, case .running = state.status else { return }
        let view = CacheView(objects: state.objects, drops: state.drops)
        for (id, waiter) in state.waiters where waiter.evaluate(view) {
            state.waiters[id] = nil
        }
    }

    private static func apply(
        _ signal: DBusSignal, to state: inout State,
        notifying notifications: inout [(@Sendable (ObjectChange) -> Void, ObjectChange)]
    ) {
        func notify(_ path: ObjectPath, _ change: ObjectChange) {
            for listener in state.listeners.values where listener.path == path {
                notifications.append((listener.handler, change))
            }
        }
        switch (signal.interface, signal.member) {
        case (BlueZInterface.objectManager, "InterfacesAdded"):
            guard let path = try? signal.arguments.decode(ObjectPath.self, at: 0),
                let added = try? signal.arguments.decode(InterfaceMap.self, at: 1)
            else { return }
            state.objects[path, default: BlueZObject()].add(added)
        case (BlueZInterface.objectManager, "InterfacesRemoved"):
            guard let path = try? signal.arguments.decode(ObjectPath.self, at: 0),
                let removed = try? signal.arguments.decode([String].self, at: 1)
            else { return }
            state.objects[path]?.remove(removed)
            if state.objects[path]?.isEmpty == true { state.objects[path] = nil }
            notify(path, .interfacesRemoved(removed))
        case (BlueZInterface.properties, "PropertiesChanged"):
            guard let interface = try? signal.arguments.decode(String.self, at: 0),
                let changed = try? signal.arguments.decode([String: DBusValue].self, at: 1)
            else { return }
            let invalidated = (try? signal.arguments.decode([String].self, at: 2)) ?? []
            // A characteristic's Value is not kept (see `GattCharacteristicProperties.value`).
            let applied = state.objects[signal.path]?.update(interface, changed: changed, invalidated: invalidated) == true
            if applied, interface == BlueZInterface.device, DeviceProperties(changed).connected == false {
                state.drops[signal.path, default: 0] += 1
            }
            notify(signal.path, .properties(interface: interface, changed: changed, invalidated: invalidated))
        default:
            return
        }
    }
}

/// Stops a listener (notifications, link-loss watch) when cancelled; cancelling twice is harmless.
public final class Subscription: Sendable {
    private let onCancel: Mutex<(@Sendable () -> Void)?>

    init(_ onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = Mutex(onCancel)
    }

    deinit {
        cancel()
    }

    /// Removes the listener; changes applied after this returns are not delivered (one already
    /// being delivered may still arrive, so handlers check their own state).
    public func cancel() {
        let action = onCancel.withLock { action in
            defer { action = nil }
            return action
        }
        action?()
    }
}
