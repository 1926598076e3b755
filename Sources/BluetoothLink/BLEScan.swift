import BatterySession
import BlueZ

/// `bms_exporter scan`: which nearby devices look like JBD batteries.
public enum BLEScan {
    /// One battery seen while scanning.
    public struct Battery: Sendable, Hashable {
        public let address: String
        public let name: String?
        public let rssi: Int?
    }

    /// Discovers on `adapter` for `duration` (LE, no service filter, so boards that advertise
    /// only a name are seen too) and returns the devices that look like JBD batteries,
    /// strongest signal first. Discovery is stopped before this returns.
    public static func batteries(
        stack: BluetoothStack, adapter name: String, duration: Duration
    ) async throws(LinkError) -> [Battery] {
        let devices: [DeviceInfo]
        do throws(BlueZError) {
            let adapter = try await stack.adapter(named: name)
            try adapter.requirePowered()
            devices = try await adapter.scan(filter: DiscoveryFilter(transport: "le"), duration: duration)
        } catch .notReady {
            throw .adapterUnavailable("adapter \(name) is powered off")
        } catch {
            throw .adapterUnavailable(error.description)
        }
        return devices.filter(isLikelyJBD)
            .map { Battery(address: $0.address.rawValue, name: $0.name.map(printable), rssi: $0.measuredRSSI) }
            .sorted { ($0.rssi ?? -200, $1.address) > ($1.rssi ?? -200, $0.address) }
    }

    /// An advertised name is anyone's choice of bytes: control characters (a terminal's escape
    /// sequences among them) become U+FFFD before `scan` prints the name.
    static func printable(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            scalars.append(scalar.properties.generalCategory == .control ? "\u{FFFD}" : scalar)
        }
        return String(scalars)
    }

    /// Advertises the ff00/fff0 UART service, or carries a name JBD modules use.
    static func isLikelyJBD(_ device: DeviceInfo) -> Bool {
        let services = Set(BLELink.uartVariants.map(\.service))
        if device.uuids.contains(where: services.contains) { return true }
        return device.name.map(isJBDName) ?? false
    }

    /// `xiaoxiang…`, `JBD-…`, `SP04S…`-style model names, `LX…` / LIONTRON.
    static func isJBDName(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower.contains("xiaoxiang") || lower.hasPrefix("jbd") || lower.contains("liontron") || name.hasPrefix("LX") {
            return true
        }
        // SP + two digits + S, anywhere (JBD model codes such as SP04S034, SP15S020).
        let characters = Array(name.uppercased())
        guard characters.count >= 5 else { return false }
        for start in 0...(characters.count - 5)
        where characters[start] == "S" && characters[start + 1] == "P" && characters[start + 2].isNumber
            && characters[start + 3].isNumber && characters[start + 4] == "S"
        {
            return true
        }
        return false
    }
}
