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
    static func links(for batteries: [BatteryConfig], logger: Logger) async throws -> ([Exporter.Battery], BluetoothStack) {
        let stack = BluetoothStack()
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
        let links = batteries.map {
            Exporter.Battery(config: $0, link: BLELink(stack: stack, address: $0.address, adapter: $0.adapter), transport: .bluetooth)
        }
        return (links, stack)
    }

    private static let noAnswer = BlueZError.timeout("BlueZ did not answer within \(DurationText.format(startupCheckTimeout))")
}
