
/// The callers suspended on a request, shared by their tasks and the I/O thread.
/// Whoever takes a waiter out resumes it, so each is resumed exactly once.
final class ReplyWaiters: Sendable {
    typealias Waiter = CheckedContinuation<[DBusValue], any Error>

    private struct State {
        var nextID: RequestID = 1
        var waiters: [RequestID: Waiter] = [:]
    }

    private let state = Locked(State())

    func makeID() -> RequestID {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Stores `waiter`, unless the current task is already cancelled: then it is resumed with
    /// `CancellationError` and false is returned. Checking under the lock closes the window in
    /// which a cancellation handler could run before the waiter is stored.
    func register(_ id: RequestID, _ waiter: Waiter) -> Bool {
        let stored = state.withLock { state in
            guard !Task.isCancelled else { return false }
            state.waiters[id] = waiter
            return true
        }
        if !stored { waiter.resume(throwing: CancellationError()) }
        return stored
    }

    func take(_ id: RequestID) -> Waiter? {
        state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    func takeAll() -> [Waiter] {
        state.withLock { state in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
    }
}
