import Synchronization

extension PostingLink {
    /// Sleeps until `deadline` on the link's own timer (`schedule`), so an idle poller on a kept
    /// link is woken by the thread that reads its replies instead of libdispatch's timer thread.
    /// Returns early only if the link's timer fires early (its connection ended); throws
    /// `CancellationError` as soon as the task is cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let waker = SleepWaker()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                waker.park(continuation)
                waker.keep(schedule(at: deadline) { waker.wake(with: .success(())) })
            }
        } onCancel: {
            waker.wake(with: .failure(CancellationError()))
        }
    }
}

/// One sleep: whichever comes first, the timer or the cancellation, resumes it, exactly once.
private final class SleepWaker: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        /// A wake-up that came before the sleeper parked (a task cancelled already).
        var early: Result<Void, any Error>?
        var finished = false
        var cancelTimer: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func park(_ continuation: CheckedContinuation<Void, any Error>) {
        let early = state.withLock { state -> Result<Void, any Error>? in
            guard let early = state.early else {
                state.continuation = continuation
                return nil
            }
            state.finished = true
            return early
        }
        if let early { continuation.resume(with: early) }
    }

    /// Holds the timer's cancel closure, or calls it at once when the sleep is already over.
    func keep(_ cancelTimer: @escaping @Sendable () -> Void) {
        let over = state.withLock { state -> Bool in
            if state.finished { return true }
            state.cancelTimer = cancelTimer
            return false
        }
        if over { cancelTimer() }
    }

    func wake(with result: Result<Void, any Error>) {
        let (continuation, cancelTimer) = state.withLock {
            state -> (CheckedContinuation<Void, any Error>?, (@Sendable () -> Void)?) in
            guard !state.finished else { return (nil, nil) }
            guard let continuation = state.continuation else {
                if state.early == nil { state.early = result }
                return (nil, nil)
            }
            state.finished = true
            state.continuation = nil
            defer { state.cancelTimer = nil }
            return (continuation, state.cancelTimer)
        }
        cancelTimer?()
        continuation?.resume(with: result)
    }
}
