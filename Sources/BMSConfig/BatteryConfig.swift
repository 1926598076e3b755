import Basics
import BatterySession

/// One battery to poll, fully resolved: defaults applied, values validated.
public struct BatteryConfig: Sendable, Equatable {
    /// The `battery` label.
    public var name: String
    /// Upper-case `AA:BB:CC:DD:EE:FF`.
    public var address: String
    public var adapter: String
    public var schedule: PollSchedule

    public init(name: String, address: String, adapter: String, schedule: PollSchedule) {
        self.name = name
        self.address = address
        self.adapter = adapter
        self.schedule = schedule
    }
}

/// Checks shared by the config file and the flags.
public enum ConfigValidation {
    public static let minimumPollInterval = Duration.milliseconds(50)
    public static let maximumPollInterval = Duration.seconds(3600)

    /// `AA:BB:CC:DD:EE:FF` in either case, normalised to upper case; nil when malformed.
    public static func macAddress(_ text: String) -> String? {
        BluetoothAddress(text)?.rawValue
    }

    /// A battery name ends up in every label and on the landing page: printable, short.
    public static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.count > 64 { return "is longer than 64 characters" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "contains control characters"
        }
        return nil
    }

    /// BlueZ names adapters hci0, hci1, …
    public static func isAdapterName(_ name: String) -> Bool {
        name.hasPrefix("hci") && name.count > 3 && name.dropFirst(3).allSatisfy { $0.isASCII && $0.isNumber }
    }

    public static func pollIntervalProblem(_ interval: Duration) -> String? {
        guard interval >= minimumPollInterval, interval <= maximumPollInterval else {
            return "must be between \(DurationText.format(minimumPollInterval)) and \(DurationText.format(maximumPollInterval))"
        }
        return nil
    }
}
