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

    public init() {}

    public func streak(_ adapter: String) -> Streak {
        streaks.withLock { $0[adapter] ?? Streak() }
    }

    func connectFailed(adapter: String, address: String) {
        streaks.withLock { streaks in
            streaks[adapter, default: Streak()].failures += 1
            streaks[adapter, default: Streak()].batteries.insert(address)
        }
    }

    func connectSucceeded(adapter: String) {
        end(adapter)
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
