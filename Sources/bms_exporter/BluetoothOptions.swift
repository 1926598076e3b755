import ArgumentParser
import BMSConfig

/// `--bluez.adapter` (alias `--adapter`) of `read`, `pair` and `scan`, declared once so that the
/// flag, its alias, its help and its error read the same in each. (`serve`'s help words it for a
/// config file's batteries, and ServeSettings checks it with the config.)
struct AdapterOption: ParsableArguments {
    @Option(name: [.customLong("bluez.adapter"), .customLong("adapter")], help: "The Bluetooth adapter to use (--adapter is an alias).")
    var adapter = "hci0"

    /// Called from the command's own `validate()` at the point its checks reach the adapter.
    /// Not this group's `validate()`: ArgumentParser runs that before the command's, which would
    /// change which of two bad flags is reported.
    func check() throws(ValidationError) {
        guard ConfigValidation.isAdapterName(adapter) else {
            throw ValidationError("--bluez.adapter \(adapter.debugDescription) is not an adapter name like hci0")
        }
    }
}

/// `--address` of `read` (optional there: `--device` is the other choice) and `pair` (required).
enum AddressOption {
    static let help: ArgumentHelp = "The battery's Bluetooth address, e.g. A4:C1:38:12:34:56."

    static func check(_ address: String) throws(ValidationError) {
        guard ConfigValidation.macAddress(address) != nil else {
            throw ValidationError("--address \(address.debugDescription) is not a Bluetooth address like A4:C1:38:12:34:56")
        }
    }
}
