import Synchronization

/// What the links on each adapter tell about it: the streak of connects that failed in a row
/// (across its batteries; a battery that discovery did not find counts too), and whether
/// anything still arrives over it.
///
/// A controller can wedge: it stays "powered" but every connect aborts, until it is powered off
/// and on. The streak is how the exporter tells that from one battery being away: any connect
/// that succeeds, and any notification from any battery on the adapter, ends it.
public final class AdapterHealth: Sendable {
    /// One adapter's current streak.
    public struct Streak: Sendable, Equatable {
        public var failures = 0
        /// The batteries whose connects failed in the streak.
        public var batteries: Set<String> = []
    }

    private let streaks = Mutex<[String: Streak]>([:])
    private let changes = Wakeup()

    public init() {}

    /// Something the adapter monitor decides on may have changed (a reload, a lost link, an
    /// adapter gone): it looks again now instead of at its next quiet check.
    public func nudge() {
        changes.signal()
    }

    /// Returns true once a connect ended, a link was lost or `nudge` was called since the last
    /// return, false after `limit` without any.
    func nextChange(upTo limit: Duration) async -> Bool {
        await changes.wait(upTo: limit)
    }

    public func streak(_ adapter: String) -> Streak {
        streaks.withLock { $0[adapter] ?? Streak() }
    }

    func connectFailed(adapter: String, address: String) {
        streaks.withLock { streaks in
            streaks[adapter, default: Streak()].failures += 1
            streaks[adapter, default: Streak()].batteries.insert(address)
        }
        changes.signal()
    }

    func connectSucceeded(adapter: String) {
        end(adapter)
        changes.signal()
    }

    /// Bytes arrived from a battery on `adapter`: it works.
    func traffic(adapter: String) {
        // The common case, once per notification: nothing to clear.
        streaks.withLock { streaks in
            if streaks[adapter]?.failures ?? 0 > 0 { streaks[adapter] = nil }
        }
    }

    /// Ends the streak (after a success, or once the adapter was power-cycled).
    public func end(_ adapter: String) {
        streaks.withLock { $0[adapter] = nil }
    }
}

/// One waiter woken by `signal`, or by its own time limit: a signal while nobody waits is kept
/// for the next `wait`, so none is lost between two waits.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Bool, Never>?
        /// Counts waits, so a time limit that fires late cannot end a later wait.
        var wait: UInt64 = 0
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    /// Returns true after a `signal` (one that came before the call counts) or when the task is
    /// cancelled, false once `limit` passed without one.
    @discardableResult
    func wait(upTo limit: Duration) async -> Bool {
        let number = state.withLock { state -> UInt64 in
            state.wait += 1
            return state.wait
        }
        let timer = Task { [self] in
            do {
                try await Task.sleep(for: limit)
                expire(number)
            } catch {}
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume(returning: true) }
            }
        } onCancel: {
            signal()
        }
    }

    private func expire(_ number: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard state.wait == number, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: false)
    }
}
