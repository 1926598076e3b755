import BlueZ
import BMSConfig
import Logging
import SerialLink
import WebServer

/// One link per configured battery, in config order: Bluetooth batteries share one BlueZ
/// connection (opened only when there is one), serial batteries each own their line.
enum LinkWiring {
    /// The links, and the Bluetooth fleet whose stack to close once every poller has disconnected.
    static func links(for batteries: [BatteryConfig], logger: Logger) async throws -> ([Exporter.Battery], BluetoothFleet?) {
        var links: [Exporter.Battery?] = batteries.map { config in
            config.serial.map { serial(config, $0) }
        }
        let overBluetooth = batteries.filter { $0.serial == nil }
        guard !overBluetooth.isEmpty else { return (links.compactMap { $0 }, nil) }
        let (wired, stack) = try await BluetoothWiring.links(for: overBluetooth, logger: logger)
        // BluetoothWiring keeps the order it is given: fill the gaps left for Bluetooth batteries.
        var next = wired.makeIterator()
        for index in links.indices where links[index] == nil { links[index] = next.next() }
        return (links.compactMap { $0 }, stack)
    }

    static func serial(_ config: BatteryConfig, _ line: SerialLine) -> Exporter.Battery {
        Exporter.Battery(
            config: config, link: SerialLink(path: line.device, baud: line.baud, replyWindow: config.schedule.requestTimeout),
            transport: .serial
        )
    }

    /// A reload that adds the first Bluetooth battery to a serial-only exporter needs a restart.
    struct NoBluetooth: Error, CustomStringConvertible {
        var description: String { "the first Bluetooth battery needs a restart (this exporter started with serial batteries only)" }
    }
}
