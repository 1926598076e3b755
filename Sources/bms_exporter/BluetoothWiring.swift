import ArgumentParser
import Basics
import BMSConfig
import BluetoothLink
import BlueZ
import CLIOutput
import WebServer
import Logging
import BatterySession
import Synchronization

/// Builds the BLE links for configured batteries: one shared BlueZ connection, one link each.
enum BluetoothWiring {
    /// How long start-up waits for BlueZ to answer before carrying on without checking.
    static let startupCheckTimeout = Duration.seconds(5)

    /// The links, and the stack to close once every poller has disconnected.
    ///
    /// A configured adapter that BlueZ does not know while it knows others stops start-up,
    /// listing those it does: that is a typo. With no adapter at all yet (a USB dongle or a Pi's
    /// UART adapter that appears late in boot), a BlueZ that is not running yet or an adapter
    /// that is powered off, start-up only warns: pollers retry until it appears.
    static func links(for batteries: [BatteryConfig], logger: Logger) async throws -> ([Exporter.Battery], BluetoothFleet) {
        let fleet = BluetoothFleet()
        let stack = fleet.stack
        for adapterName in Set(batteries.map(\.adapter)).sorted() {
            do {
                let adapter = try await withDeadline(.now + startupCheckTimeout, orThrow: { Self.noAnswer }) {
                    try await stack.adapter(named: adapterName)
                }
                if !adapter.isPowered {
                    logger.warning("adapter \(adapterName) is powered off; batteries on it stay down until it is powered on")
                }
            } catch let error as BlueZError {
                if case let .adapterMissing(_, available) = error, available.isEmpty {
                    logger.warning("no Bluetooth adapter yet (looking for \(adapterName)); polling will keep retrying until one appears")
                } else if case .adapterMissing = error {
                    await stack.close()
                    StandardError.write("bms_exporter: \(error)\n")
                    throw ExitCode(2)
                }
                logger.warning("cannot check adapter \(adapterName) yet: \(error); polling will keep retrying")
            } catch {
                logger.warning("cannot check adapter \(adapterName) yet: \(error); polling will keep retrying")
            }
        }
        logBudgets(batteries, logger: logger)
        return (batteries.map(fleet.battery), fleet)
    }

    /// One line per adapter whose batteries do not all get a link of their own, saying who takes turns.
    static func logBudgets(_ batteries: [BatteryConfig], logger: Logger) {
        for adapter in Set(batteries.map(\.adapter)).sorted() {
            let onAdapter = batteries.filter { $0.adapter == adapter }
            let inTurn = onAdapter.filter(\.pollsInTurn)
            guard !inTurn.isEmpty else { continue }
            logger.info("link budget: batteries beyond it take turns on one link, connecting for each poll", metadata: [
                "adapter": "\(adapter)", "batteries": "\(onAdapter.count)",
                "kept": "\(onAdapter.count - inTurn.count)", "in_turn": "\(inTurn.map(\.name).joined(separator: ","))",
            ])
        }
    }

    private static let noAnswer = BlueZError.timeout("BlueZ did not answer within \(DurationText.format(startupCheckTimeout))")
}

/// What the Bluetooth batteries of one exporter share: the BlueZ connection, the health of each
/// adapter, and per adapter the one link that batteries beyond its budget take turns on.
/// Lives as long as the process, so a battery added on SIGHUP queues with the running ones.
final class BluetoothFleet: Sendable {
    let stack = BluetoothStack()
    let health = AdapterHealth()
    private let turns = Mutex<[String: FairGate]>([:])

    /// The link and, beyond the budget, the turn of one configured battery.
    func battery(_ config: BatteryConfig) -> Exporter.Battery {
        Exporter.Battery(
            config: config, link: BLELink(stack: stack, address: config.address, adapter: config.adapter, health: health),
            transport: .bluetooth, turn: config.pollsInTurn ? turn(on: config.adapter) : nil)
    }

    private func turn(on adapter: String) -> FairGate {
        turns.withLock { turns in
            if let gate = turns[adapter] { return gate }
            let gate = FairGate(capacity: 1)
            turns[adapter] = gate
            return gate
        }
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
    }

    /// The adapter monitor for the watched adapters (`watch`), logging what it sees and does.
    func monitor(store: AdapterStore, logger: Logger) -> @Sendable () async -> Void {
        let monitor = AdapterMonitor(stack: stack, health: health, store: store, adapters: { self.watched.withLock { $0 } }) { event in
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
