import BatterySession
import BluetoothLink
import BlueZ
import BMSConfig
import Basics
import Logging
import Synchronization
import WebServer

/// What the Bluetooth batteries of one exporter share: the BlueZ connection, the health of each
/// adapter, and per adapter the one link that batteries beyond its budget take turns on.
/// Lives as long as the process, so a battery added on SIGHUP queues with the running ones.
final class BluetoothFleet: Sendable {
    let stack = BluetoothStack()
    let health = AdapterHealth()
    /// What `/metrics` and the landing page show per adapter in use.
    let adapters = AdapterStore(adapters: [])
    private let turns = FairGates()

    /// The link and, beyond the budget, the turn of one configured battery.
    func battery(_ config: BatteryConfig) -> Exporter.Battery {
        Exporter.Battery(
            config: config, link: BLELink(stack: stack, address: config.address, adapter: config.adapter, health: health),
            transport: .bluetooth, turn: config.pollsInTurn ? turns.gate(for: config.adapter) : nil)
    }

    /// The adapters in use and what each may do; replaced on a reload.
    private let watched = Mutex<[AdapterMonitor.Watched]>([])

    /// Makes `batteries`' adapters (with their policies) the ones the monitor watches.
    func watch(_ batteries: [BatteryConfig], policies: AdapterPolicies) {
        let overBluetooth = batteries.filter { $0.serial == nil }
        let adapters = Set(overBluetooth.map(\.adapter)).sorted().map { name in
            AdapterMonitor.Watched(
                name: name, powerCycleAfter: policies.policy(for: name).powerCycleAfter,
                batteries: overBluetooth.filter { $0.adapter == name }.count)
        }
        watched.withLock { $0 = adapters }
        // Their series show from now on; the monitor drops those no longer watched.
        for adapter in adapters { self.adapters.update(adapter.name) { _ in } }
        health.nudge()  // the monitor takes up the new set now, not at its next quiet check
    }

    /// The adapter monitor for the watched adapters (`watch`), logging what it sees and does.
    func monitor(logger: Logger) -> @Sendable () async -> Void {
        let monitor = AdapterMonitor(stack: stack, health: health, store: adapters, adapters: { self.watched.withLock { $0 } }) { event in
            switch event {
            case .up(let adapter):
                logger.info("adapter available again", metadata: ["adapter": "\(adapter)"])
            case .down(let adapter, let reason):
                logger.warning("adapter unavailable: \(reason)", metadata: ["adapter": "\(adapter)"])
            case .powerCycling(let adapter, let failures, let batteries):
                logger.warning(
                    "adapter seems wedged: \(failures) connects in a row failed (\(batteries) batteries) and nothing arrives over it; powering it off and on",
                    metadata: ["adapter": "\(adapter)"])
            case .powerCycled(let adapter):
                logger.info("adapter powered off and on again; counted in bms_adapter_resets_total", metadata: ["adapter": "\(adapter)"])
            case .powerCycleFailed(let adapter, let reason):
                logger.error(
                    "power-cycling the adapter failed: \(reason) (needs D-Bus access to org.bluez, e.g. the bluetooth group, and no rfkill block)",
                    metadata: ["adapter": "\(adapter)"])
            }
        }
        return { await monitor.run() }
    }
}
