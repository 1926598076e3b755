import Synchronization

/// Lets at most `capacity` holders through at once, in the order they arrived.
///
/// A Bluetooth controller accepts one outstanding LE Create Connection at a time, and an adapter
/// holds a few links only: callers queue here instead of failing with "busy" or starving each
/// other. First come, first served, so a battery that keeps failing cannot overtake the others;
/// each holder bounds its own turn (its connect timeout), which bounds every wait.
///
/// ```swift
/// let gate = FairGate(capacity: 1)
/// let waited = try await gate.enter()   // suspends until it is this caller's turn
/// defer { gate.leave() }
/// ```
public final class FairGate: Sendable {
    private struct Waiter {
        let id: UInt64
        let since: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var free: Int
        var queue: [Waiter] = []
        var nextID: UInt64 = 0
        var statistics = Statistics()
    }

    /// How long callers waited for their turn, summed over every turn granted.
    public struct Statistics: Sendable, Equatable {
        public var turns = 0
        public var waitSeconds = 0.0
        /// Callers waiting now.
        public var waiting = 0
    }

    private let state: Mutex<State>
    public let capacity: Int

    public init(capacity: Int = 1) {
        precondition(capacity >= 1, "a gate lets at least one caller through")
        self.capacity = capacity
        state = Mutex(State(free: capacity))
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.waiting = state.queue.count
            return statistics
        }
    }

    /// Waits for a turn; returns how long that took. Throws `CancellationError` (holding
    /// nothing) when the task is cancelled while waiting. Every successful `enter` needs one `leave`.
    @discardableResult
    public func enter() async throws(CancellationError) -> Duration {
        let arrived = ContinuousClock.now
        // Admitted at once (nil), or the id to queue under.
        let queueID = state.withLock { state -> UInt64? in
            if state.free > 0, state.queue.isEmpty {
                state.free -= 1
                state.statistics.turns += 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id = queueID else { return .zero }
        enum Outcome { case admitted, queued, cancelled }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let outcome = state.withLock { state -> Outcome in
                        // Cancelled before it got here: the handler below found nothing to remove.
                        if Task.isCancelled { return .cancelled }
                        if state.free > 0, state.queue.isEmpty {
                            state.free -= 1
                            state.statistics.turns += 1
                            return .admitted
                        }
                        state.queue.append(Waiter(id: id, since: arrived, continuation: continuation))
                        return .queued
                    }
                    switch outcome {
                    case .admitted: continuation.resume()
                    case .cancelled: continuation.resume(throwing: CancellationError())
                    case .queued: break  // `leave` or the cancellation handler resumes it
                    }
                }
            } onCancel: {
                let removed = state.withLock { state -> Waiter? in
                    guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.queue.remove(at: index)
                }
                removed?.continuation.resume(throwing: CancellationError())
            }
        } catch {
            throw CancellationError()
        }
        return ContinuousClock.now - arrived
    }

    /// Ends a turn: the longest waiting caller, if any, goes next.
    public func leave() {
        let next = state.withLock { state -> Waiter? in
            guard !state.queue.isEmpty else {
                state.free = min(state.free + 1, capacity)
                return nil
            }
            let next = state.queue.removeFirst()
            state.statistics.turns += 1
            state.statistics.waitSeconds += (ContinuousClock.now - next.since).seconds
            return next
        }
        next?.continuation.resume()
    }

    /// Runs `body` in a turn of its own, leaving the gate however `body` ends.
    public func withTurn<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await enter()
        defer { leave() }
        return try await body()
    }
}

/// One single-file `FairGate` per key (an adapter name), made on first use and kept: whoever asks
/// for the same key later queues behind the same gate.
public final class FairGates: Sendable {
    private let gates = Mutex<[String: FairGate]>([:])

    public init() {}

    public func gate(for key: String) -> FairGate {
        gates.withLock { gates in
            if let gate = gates[key] { return gate }
            let gate = FairGate(capacity: 1)
            gates[key] = gate
            return gate
        }
    }
}
