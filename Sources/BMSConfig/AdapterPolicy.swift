/// How the exporter treats one Bluetooth adapter: how many links it keeps, and whether it may
/// power-cycle the adapter to recover it.
public struct AdapterPolicy: Sendable, Equatable {
    /// Links the exporter holds on the adapter at once (`--bluez.max-links`, `max_links`).
    public var maxLinks: Int
    /// Consecutive connect failures after which the adapter is powered off and on; nil: never
    /// (`--bluez.power-cycle-after`, `power_cycle_after`).
    public var powerCycleAfter: Int?

    public static let defaultMaxLinks = 5
    /// The range a budget may take: one link, up to what any controller holds.
    public static let maxLinksRange = 1...32
    /// A power cycle after fewer failures would fire on an ordinary bad minute.
    public static let powerCycleRange = 2...10_000

    public init(maxLinks: Int = defaultMaxLinks, powerCycleAfter: Int? = nil) {
        self.maxLinks = maxLinks
        self.powerCycleAfter = powerCycleAfter
    }
}

/// The policy of every adapter: the flags' defaults, overridden per adapter by the config
/// file's `adapters:` section.
public struct AdapterPolicies: Sendable, Equatable {
    public var defaults: AdapterPolicy
    public var overrides: [String: AdapterPolicy]

    public init(defaults: AdapterPolicy = AdapterPolicy(), overrides: [String: AdapterPolicy] = [:]) {
        self.defaults = defaults
        self.overrides = overrides
    }

    public func policy(for adapter: String) -> AdapterPolicy {
        overrides[adapter] ?? defaults
    }
}

/// Which batteries keep their link and which poll in turn, per adapter.
///
/// A controller holds a handful of LE links (CSR8510 about 5, BCM20702 7, a Pi's CYW43455
/// about 5); past that a connect fails. So on each adapter the exporter holds at most
/// `maxLinks` links: when every battery fits, nothing changes; when the kept links leave room
/// for one more, the `keep_connected: false` batteries take turns on it; otherwise the first
/// `maxLinks − 1` batteries in config order keep theirs and every other battery of the adapter
/// takes turns through the one remaining link: connect, read, disconnect.
public enum LinkBudget {
    public static func apply(_ batteries: [BatteryConfig], policies: AdapterPolicies) -> [BatteryConfig] {
        var result = batteries
        let bluetooth = batteries.indices.filter { batteries[$0].serial == nil }
        for adapter in Set(bluetooth.map { batteries[$0].adapter }) {
            let onAdapter = bluetooth.filter { batteries[$0].adapter == adapter }
            let keeping = onAdapter.filter { batteries[$0].schedule.keepConnected }
            let budget = policies.policy(for: adapter).maxLinks
            // Everyone fits: nothing to do.
            if onAdapter.count <= budget { continue }
            // The kept links fit beside one for the per-poll batteries: they take turns on it.
            if keeping.count < budget {
                for index in onAdapter where !batteries[index].schedule.keepConnected { result[index].pollsInTurn = true }
                continue
            }
            let kept = Set(keeping.prefix(budget - 1))
            for index in onAdapter where !kept.contains(index) {
                result[index].pollsInTurn = true
                result[index].schedule.keepConnected = false
            }
        }
        return result
    }
}
