/// Deadlines that fire on a connection's I/O thread, so that a reply and the deadline that
/// gives up on it are settled on the same thread, without a timer task per request.
///
/// Callers add and cancel under a lock; the I/O thread folds the earliest deadline into its
/// `poll()` timeout and runs what is due. Cancelling never wakes the I/O thread: at worst it
/// wakes once at the old deadline, finds nothing due and sleeps again. Cancelling from the I/O
/// thread itself (a reply handler) costs nothing at all, which is the common case.
final class TimerTable: Sendable {
    typealias Action = @Sendable () -> Void

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let action: Action
    }

    private struct State {
        var nextID: UInt64 = 1
        var entries: [UInt64: Entry] = [:]
        var isClosed = false
    }

    private let state = Locked(State())

    /// Adds a deadline and returns its id, or nil once the connection has shut down.
    func add(_ deadline: ContinuousClock.Instant, _ action: @escaping Action) -> UInt64? {
        state.withLock { state in
            guard !state.isClosed else { return nil }
            defer { state.nextID += 1 }
            state.entries[state.nextID] = Entry(deadline: deadline, action: action)
            return state.nextID
        }
    }

    /// Removes a deadline; true if it had neither fired nor been cancelled.
    @discardableResult
    func cancel(_ id: UInt64) -> Bool {
        state.withLock { $0.entries.removeValue(forKey: id) != nil }
    }

    /// The earliest pending deadline; I/O thread.
    var earliest: ContinuousClock.Instant? {
        state.withLock { $0.entries.values.lazy.map(\.deadline).min() }
    }

    /// Takes out what is due at `now`, earliest first; the caller runs the actions outside the lock.
    func takeDue(_ now: ContinuousClock.Instant) -> [Action] {
        state.withLock { state in
            let due = state.entries.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
            for (id, _) in due { state.entries[id] = nil }
            return due.map(\.value.action)
        }
    }

    /// Refuses new deadlines and takes out every pending one: at shutdown they all fire at once,
    /// so nobody waits for a deadline the I/O thread will never reach.
    func close() -> [Action] {
        state.withLock { state in
            state.isClosed = true
            defer { state.entries = [:] }
            return state.entries.values.sorted { $0.deadline < $1.deadline }.map(\.action)
        }
    }
}

/// A deadline scheduled with ``DBusConnection/schedule(at:_:)``.
public final class DBusTimer: Sendable {
    private let table: TimerTable
    private let id: UInt64?

    init(table: TimerTable, id: UInt64?) {
        self.table = table
        self.id = id
    }

    /// Stops the action from running, unless it already has; never wakes the I/O thread.
    public func cancel() {
        if let id { table.cancel(id) }
    }
}
