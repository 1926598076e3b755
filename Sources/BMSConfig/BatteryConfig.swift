import Basics
import BatterySession
import SerialPort

/// One battery to poll, fully resolved: defaults applied, values validated.
public struct BatteryConfig: Sendable, Equatable {
    /// The `battery` label.
    public var name: String
    /// Upper-case `AA:BB:CC:DD:EE:FF`; for a battery on a serial line, its device path.
    public var address: String
    public var adapter: String
    public var schedule: PollSchedule
    /// Set for a battery on a serial line (`device:`), nil for one over Bluetooth.
    public var serial: SerialLine?
    /// The password exchange for a module with a password (`password_file`); nil for the rest.
    /// Never logged and never on the landing page.
    public var unlock: ModuleUnlock?
    /// The bank it belongs to (packs in parallel), "" when none: the `bank` label of `bms_info`.
    public var bank: String
    /// Beyond its adapter's link budget (`LinkBudget`): each poll waits for the adapter's shared
    /// link, connects, reads and disconnects.
    public var pollsInTurn = false

    public init(
        name: String, address: String, adapter: String, schedule: PollSchedule, serial: SerialLine? = nil,
        bank: String = "", unlock: ModuleUnlock? = nil
    ) {
        self.name = name
        self.address = address
        self.adapter = adapter
        self.schedule = schedule
        self.serial = serial
        self.unlock = unlock
        self.bank = bank
    }
}

/// Where a battery on a serial line is plugged in, and at what speed.
public struct SerialLine: Sendable, Equatable {
    /// An absolute path: /dev/ttyUSB0, or better a /dev/serial/by-id/… name.
    public var device: String
    public var baud: BaudRate

    public init(device: String, baud: BaudRate = .standard) {
        self.device = device
        self.baud = baud
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
    /// The one check for names from the config file and from `--bms.name`.
    public static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.count > 64 { return "is longer than 64 characters" }
        if let scalar = name.unicodeScalars.first(where: isInvisibleOrControl) {
            return "contains \(codePoint(scalar)), a control or formatting character; use visible characters only"
        }
        return nil
    }

    /// C0/C1 controls (Cc), format characters (Cf: bidi overrides and isolates, zero-width
    /// spaces and joiners, the byte-order mark, the soft hyphen) and the line and paragraph
    /// separators (Zl, Zp). They are invisible or reorder text, so two names that look alike
    /// could differ, and a label value or the landing page could display something else.
    static func isInvisibleOrControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// "U+202E", as Unicode writes a code point.
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Reads a module password file for the battery at `address`; `source` names the flag or
    /// config line in the error. The password itself never appears in an error.
    public static func unlock(
        passwordFile path: String, address: String, source: String,
        readFile: (String) throws(ConfigError) -> String = TextFile.read
    ) throws(ConfigError) -> ModuleUnlock {
        let text: String
        do throws(ConfigError) {
            text = try readFile(path)
        } catch {
            throw ConfigError(source: source, "password file \(path): \(error.message)")
        }
        do throws(ModuleUnlockProblem) {
            return try ModuleUnlock(passwordFileText: text, address: address)
        } catch {
            throw ConfigError(source: source, "password file \(path) \(error.description)")
        }
    }

    /// BlueZ names adapters hci0, hci1, …
    public static func isAdapterName(_ name: String) -> Bool {
        name.hasPrefix("hci") && name.count > 3 && name.dropFirst(3).allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// A device must be an absolute path (the link reopens it by name after an unplug).
    public static func devicePathProblem(_ path: String) -> String? {
        if !path.hasPrefix("/") { return "is not an absolute path like /dev/ttyUSB0 or /dev/serial/by-id/…" }
        if path.contains(where: { $0.isNewline || $0 == "\0" }) { return "contains a line break or NUL" }
        return nil
    }

    /// The line speed from its decimal text; nil with the reason when it is not one the driver knows.
    public static func baudRate(_ text: String) -> Result<BaudRate, SerialPortError>? {
        guard let value = Int(text) else { return nil }
        return Result { () throws(SerialPortError) -> BaudRate in try BaudRate(value) }
    }

    /// 0 turns power-cycling off; 1 would cycle the adapter on a single failed connect.
    public static func powerCycleProblem(_ count: Int) -> String? {
        if count == 0 || AdapterPolicy.powerCycleRange.contains(count) { return nil }
        return "must be 0 (off) or from \(AdapterPolicy.powerCycleRange.lowerBound) to \(AdapterPolicy.powerCycleRange.upperBound) consecutive failures, not \(count)"
    }

    public static func pollIntervalProblem(_ interval: Duration) -> String? {
        guard interval >= minimumPollInterval, interval <= maximumPollInterval else {
            return "must be between \(DurationText.format(minimumPollInterval)) and \(DurationText.format(maximumPollInterval))"
        }
        return nil
    }
}
