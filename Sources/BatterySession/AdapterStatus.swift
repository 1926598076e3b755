import Synchronization

/// What `/metrics` shows about one Bluetooth adapter (`hci0`), shared by the batteries on it.
///
/// Transport-neutral on purpose: the Bluetooth link fills it in, the exposition reads it, and
/// neither side needs the other.
public struct AdapterStatus: Sendable, Equatable {
    /// The adapter's name: the `adapter` label.
    public let name: String
    /// Present in BlueZ and powered.
    public var up = false
    /// Connects that went through the adapter's one-at-a-time queue, and their summed wait.
    public var connectTurns = 0
    public var connectWaitSeconds = 0.0
    /// Power cycles the exporter made to recover the adapter.
    public var resets = 0

    public init(name: String) {
        self.name = name
    }
}

/// The latest status of every adapter in use, written by the Bluetooth side, read by scrapes.
public final class AdapterStore: Sendable {
    private let statuses: Mutex<[AdapterStatus]>

    /// One entry per adapter name, sorted, so the exposition order is stable.
    public init(adapters: [String]) {
        statuses = Mutex(Set(adapters).sorted().map(AdapterStatus.init(name:)))
    }

    public func snapshot() -> [AdapterStatus] {
        statuses.withLock { $0 }
    }

    /// Drops the adapters no longer in use (after a reload), so their series disappear.
    public func keep(only names: Set<String>) {
        statuses.withLock { all in all.removeAll { !names.contains($0.name) } }
    }

    /// Applies a change to one adapter's status; an adapter not in the store is added.
    public func update(_ name: String, _ change: (inout AdapterStatus) -> Void) {
        statuses.withLock { all in
            if let index = all.firstIndex(where: { $0.name == name }) {
                change(&all[index])
            } else {
                var status = AdapterStatus(name: name)
                change(&status)
                all.append(status)
                all.sort { $0.name < $1.name }
            }
        }
    }
}
