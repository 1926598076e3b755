import ArgumentParser
import Basics
import BMSConfig
import BluetoothLink
import BlueZ
import CLIOutput
import WebServer
import Logging

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
