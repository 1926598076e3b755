import Synchronization

/// The latest status of every battery, written by the pollers and read by HTTP handlers.
///
/// Writers replace a battery's whole status under the lock, so a reader sees either the
/// old or the new reading, never a mix; the lock is held only to copy values.
public final class StatusStore: Sendable {
    private let statuses: Mutex<[BatteryStatus]>

    public init(_ batteries: [BatteryStatus]) {
        statuses = Mutex(batteries)
    }

    /// A consistent copy of every battery's status, in configuration order.
    public func snapshot() -> [BatteryStatus] {
        statuses.withLock { $0 }
    }

    /// Applies a change to one battery's status atomically.
    public func update(_ name: String, _ change: (inout BatteryStatus) -> Void) {
        statuses.withLock { all in
            guard let index = all.firstIndex(where: { $0.name == name }) else { return }
            change(&all[index])
        }
    }

    /// Replaces the set of batteries after a config reload. A battery listed before under the
    /// same name, address and maximum age keeps its status (reading, failure counts); others
    /// start afresh, and removed ones disappear from the exposition.
    public func reconfigure(_ batteries: [BatteryStatus]) {
        statuses.withLock { all in
            let old = all
            all = batteries.map { fresh in
                old.first {
                    $0.name == fresh.name && $0.address == fresh.address && $0.maxAgeSeconds == fresh.maxAgeSeconds
                        && $0.bank == fresh.bank && $0.transport == fresh.transport && $0.adapter == fresh.adapter
                }
                    ?? fresh
            }
        }
    }
}
