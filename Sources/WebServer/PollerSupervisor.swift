import BatterySession
import BMSConfig
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs one poller per battery and swaps them on a reload, so a SIGHUP never leaves a
/// battery connected that the config no longer lists: a BMS takes one client, and a link
/// kept by a poller nobody owns locks the phone app out until BlueZ drops it.
///
/// Only batteries whose config changed are touched; the others keep polling, connected.
actor PollerSupervisor {
    private struct Running {
        let config: BatteryConfig
        let task: Task<Void, Never>
    }

    private let store: StatusStore
    private let logger: Logger
    private var running: [Running] = []

    init(store: StatusStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Makes the running pollers match `batteries`: stops (and so disconnects) removed and
    /// changed ones first, then starts new and changed ones.
    func apply(_ batteries: [Exporter.Battery]) async -> (added: Int, removed: Int, changed: Int) {
        let wanted = Dictionary(batteries.map { ($0.config.name, $0) }, uniquingKeysWith: { first, _ in first })
        var kept: [String: Running] = [:]
        var stopping: [Running] = []
        var removed = 0
        var changed = 0
        for poller in running {
            if wanted[poller.config.name]?.config == poller.config {
                kept[poller.config.name] = poller
            } else {
                if wanted[poller.config.name] == nil { removed += 1 } else { changed += 1 }
                stopping.append(poller)
            }
        }
        for poller in stopping { poller.task.cancel() }
        for poller in stopping { await poller.task.value }
        store.reconfigure(batteries.map(Exporter.status(for:)))
        var added = 0
        running = batteries.map { battery in
            if let poller = kept[battery.config.name] { return poller }
            if !stopping.contains(where: { $0.config.name == battery.config.name }) { added += 1 }
            let poller = BatteryPoller(
                name: battery.config.name, link: battery.link, store: store, schedule: battery.config.schedule, logger: logger,
                unlock: battery.config.unlock, address: battery.config.address, turn: battery.turn)
            return Running(config: battery.config, task: Task { await poller.run() })
        }
        return (added, removed, changed)
    }

    /// Stops every poller and waits until each has disconnected.
    func stopAll() async {
        for poller in running { poller.task.cancel() }
        for poller in running { await poller.task.value }
        running = []
    }
}

/// Runs the pollers until a graceful shutdown; on SIGHUP re-reads the config through `reload`
/// (the exporter-toolkit convention). A config that fails to load or validate is logged and
/// the running one stays in force.
struct PollingService: Service {
    let batteries: [Exporter.Battery]
    let store: StatusStore
    let logger: Logger
    let reload: (@Sendable () async throws -> [Exporter.Battery])?
    /// Trapped before the server starts, so a SIGHUP from then on never kills the process.
    let hangups: UnixSignalsSequence

    func run() async throws {
        let supervisor = PollerSupervisor(store: store, logger: logger)
        _ = await supervisor.apply(batteries)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                await reloadOnce(supervisor)
            }
        }
        await supervisor.stopAll()
    }

    private func reloadOnce(_ supervisor: PollerSupervisor) async {
        guard let reload else {
            logger.info("SIGHUP: nothing to reload")
            return
        }
        let batteries: [Exporter.Battery]
        do {
            batteries = try await reload()
        } catch {
            logger.error("reloading the config failed, keeping the running one: \(error)")
            return
        }
        let (added, removed, changed) = await supervisor.apply(batteries)
        logger.info("config reloaded", metadata: [
            "batteries": "\(batteries.map(\.config.name).joined(separator: ","))",
            "added": "\(added)", "removed": "\(removed)", "changed": "\(changed)",
        ])
    }
}
