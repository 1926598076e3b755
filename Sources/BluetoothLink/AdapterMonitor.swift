import Basics
import BatterySession
import BlueZ

/// Keeps each adapter's `AdapterStatus` current (present and powered, connect-queue waits,
/// resets) and, where allowed, power-cycles an adapter that has wedged.
///
/// Power-cycling is opt-in (`--bluez.power-cycle-after N`): after N connects in a row failed on
/// the adapter (from at least two of its batteries, when it has two), while it claims to be
/// powered and nothing arrives from any battery on it, it is switched off and on through
/// `Adapter1.Powered`, at most once per `minimumSpacing`. Every link on it drops, which is why a
/// battery still being read on the adapter (bytes arriving) ends the streak and prevents it.
public struct AdapterMonitor: Sendable {
    /// One adapter to watch.
    public struct Watched: Sendable {
        public let name: String
        /// Consecutive failed connects before a power cycle; nil: never.
        public let powerCycleAfter: Int?
        /// Batteries configured on it.
        public let batteries: Int

        public init(name: String, powerCycleAfter: Int?, batteries: Int) {
            self.name = name
            self.powerCycleAfter = powerCycleAfter
            self.batteries = batteries
        }
    }

    /// What the monitor saw or did, for the log.
    public enum Event: Sendable, Equatable {
        case up(adapter: String)
        case down(adapter: String, reason: String)
        case powerCycling(adapter: String, failures: Int, batteries: Int)
        case powerCycled(adapter: String)
        case powerCycleFailed(adapter: String, reason: String)
    }

    let stack: BluetoothStack
    let health: AdapterHealth
    let store: AdapterStore
    /// The adapters to watch, asked each round: a reload may add one.
    let adapters: @Sendable () -> [Watched]
    let report: @Sendable (Event) -> Void
    /// How soon it looks again while an adapter is down or connects on it are failing.
    var period = Duration.seconds(1)
    /// How soon it looks again while every adapter is up and nothing fails. Between checks it
    /// sleeps until a connect ends or a link is lost (`AdapterHealth`): a timer every second
    /// would wake a battery-powered host ten times per 10 s poll for nothing.
    var quietPeriod = Duration.seconds(60)
    /// A second power cycle within this time would only keep the adapter from settling.
    var minimumSpacing = Duration.seconds(300)

    public init(
        stack: BluetoothStack, health: AdapterHealth, store: AdapterStore, adapters: @escaping @Sendable () -> [Watched],
        report: @escaping @Sendable (Event) -> Void
    ) {
        self.stack = stack
        self.health = health
        self.store = store
        self.adapters = adapters
        self.report = report
    }

    /// Checks every adapter at once, then after each change `AdapterHealth` reports and a
    /// `period` after that, once a `period` while something is wrong, and once a `quietPeriod`
    /// when all is well, until cancelled.
    public func run() async {
        var memory = Memory()
        var changed = true
        while !Task.isCancelled {
            let watching = adapters()
            store.keep(only: Set(watching.map(\.name)))
            for watched in watching {
                await check(watched, &memory)
            }
            // A change is reported as it starts (a link drops before BlueZ drops the adapter
            // object), so the check after one is followed by another a `period` later.
            let quiet = !changed && watching.allSatisfy { memory.up[$0.name] == true && health.streak($0.name).failures == 0 }
            changed = await health.nextChange(upTo: quiet ? quietPeriod : period)
        }
    }

    struct Memory {
        var up: [String: Bool] = [:]
        var lastCycle: [String: ContinuousClock.Instant] = [:]
    }

    func check(_ watched: Watched, _ memory: inout Memory) async {
        let name = watched.name
        let stack = self.stack
        var adapter: Adapter?
        var reason = ""
        do {
            adapter = try await withDeadline(.now + .seconds(2), orThrow: { BlueZError.timeout("BlueZ did not answer") }) {
                try await stack.adapter(named: name)
            }
            if adapter?.isPowered == false { reason = "powered off" }
        } catch {
            reason = "\(error)"
        }
        let up = adapter?.isPowered == true
        if memory.up[name] != up {
            // The first check only reports trouble; "up" at start-up is the normal case.
            if up, memory.up[name] != nil { report(.up(adapter: name)) }
            if !up { report(.down(adapter: name, reason: reason)) }
            memory.up[name] = up
        }
        let waits = stack.connectGate(for: name).statistics
        store.update(name) {
            $0.up = up
            $0.connectTurns = waits.turns
            $0.connectWaitSeconds = waits.waitSeconds
        }
        if up, let adapter, shouldPowerCycle(watched, memory) {
            let streak = health.streak(name)
            report(.powerCycling(adapter: name, failures: streak.failures, batteries: streak.batteries.count))
            memory.lastCycle[name] = .now
            do throws(BlueZError) {
                try await adapter.powerCycle(timeout: .seconds(10))
                store.update(name) { $0.resets += 1 }
                report(.powerCycled(adapter: name))
            } catch {
                report(.powerCycleFailed(adapter: name, reason: "\(error)"))
            }
            health.end(name)
        }
    }

    func shouldPowerCycle(_ watched: Watched, _ memory: Memory) -> Bool {
        guard let after = watched.powerCycleAfter else { return false }
        let streak = health.streak(watched.name)
        guard streak.failures >= after, streak.batteries.count >= min(2, watched.batteries) else { return false }
        guard let last = memory.lastCycle[watched.name] else { return true }
        return ContinuousClock.now - last >= minimumSpacing
    }
}
