import BMSConfig
import ArgumentParser
import BMSExporter
import Logging
import ServiceLifecycle

/// Builds the BLE links for configured batteries.
enum BluetoothWiring {
    static func links(for batteries: [BatteryConfig], logger: Logger) throws -> ([Exporter.Battery], [any Service]) {
        throw ValidationError("reading batteries over Bluetooth is not wired in this build yet; use --simulate")
    }
}
