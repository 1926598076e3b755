import Basics
import BatterySession
import Yams

/// The YAML file that lists batteries (`--config.file`). Its shape:
///
///     poll_interval: 10s          # default for every battery
///     batteries:
///       - name: house
///         address: A4:C1:38:12:34:56
///         adapter: hci1           # optional
///         keep_connected: false   # optional, default true
///         poll_interval: 30s      # optional
///         password_file: /etc/bms_exporter/house.password  # optional, FF AA modules only
///         bank: house-bank        # optional; packs in parallel share one
///       - name: van
///         device: /dev/serial/by-id/usb-FTDI_FT232R_A1B2C3-if00-port0   # instead of address
///         baud: 9600              # optional, default 9600
///
/// Every problem is reported with its line, at start-up, before anything connects.
public enum ConfigFile {
    static let topLevelKeys: Set<String> = ["poll_interval", "batteries", "adapters"]
    static let adapterKeys: Set<String> = ["max_links", "power_cycle_after"]
    static let batteryKeys: Set<String> = [
        "name", "address", "device", "baud", "adapter", "keep_connected", "poll_interval", "bank", "password_file",
    ]

    public struct Defaults: Sendable {
        public var adapter: String
        public var pollInterval: Duration
        /// What an adapter the `adapters:` section does not name (or a key it leaves out) gets.
        public var adapterPolicy: AdapterPolicy

        public init(adapter: String, pollInterval: Duration, adapterPolicy: AdapterPolicy = AdapterPolicy()) {
            self.adapter = adapter
            self.pollInterval = pollInterval
            self.adapterPolicy = adapterPolicy
        }
    }

    /// Everything the file says: its batteries and its per-adapter policies.
    public struct Document: Sendable, Equatable {
        public var batteries: [BatteryConfig]
        public var adapters: AdapterPolicies
    }

    /// The batteries the file lists (see `document` for the adapters too).
    public static func parse(
        _ text: String, source: String, defaults: Defaults,
        readFile: (String) throws(ConfigError) -> String = TextFile.read
    ) throws(ConfigError) -> [BatteryConfig] {
        try document(text, source: source, defaults: defaults, readFile: readFile).batteries
    }

    /// `readFile` reads the password files the batteries name (relative paths are taken from
    /// the config file's directory).
    public static func document(
        _ text: String, source: String, defaults: Defaults,
        readFile: (String) throws(ConfigError) -> String = TextFile.read
    ) throws(ConfigError) -> Document {
        let reader = YAMLReader(source: source)
        guard let root = try reader.compose(text) else {
            throw ConfigError(source: source, "the file is empty; it must list `batteries`")
        }
        let top = try reader.mapping(root, what: "the top level", allowed: topLevelKeys)
        var pollInterval = defaults.pollInterval
        if let entry = top["poll_interval"] {
            pollInterval = try reader.pollInterval(entry)
        }
        var adapters = AdapterPolicies(defaults: defaults.adapterPolicy)
        if let entry = top["adapters"] {
            adapters.overrides = try reader.adapterPolicies(entry, defaults: defaults.adapterPolicy)
        }
        guard let batteriesEntry = top["batteries"] else {
            throw ConfigError(source: source, line: root.mark?.line, "missing `batteries`: list at least one battery")
        }
        guard case let .sequence(list) = batteriesEntry.value, !list.isEmpty else {
            throw reader.error(atKeyOf: batteriesEntry, "`batteries` must be a non-empty list")
        }
        var batteries: [BatteryConfig] = []
        var namesSeen: [String: Int] = [:]
        var addressesSeen: [String: Int] = [:]
        for node in list {
            let line = node.mark?.line
            let fields = try reader.mapping(node, what: "a battery", allowed: batteryKeys)
            guard let nameEntry = fields["name"] else { throw ConfigError(source: source, line: line, "battery without `name`") }
            let addressEntry = fields["address"]
            let deviceEntry = fields["device"]
            if addressEntry != nil, let deviceEntry {
                throw reader.error(atKeyOf: deviceEntry,
                                   "battery with both `address` and `device`: give `address` for Bluetooth or `device` for a serial line")
            }
            if addressEntry == nil, deviceEntry == nil {
                throw ConfigError(source: source, line: line,
                                  "battery without `address` (Bluetooth) or `device` (serial line)")
            }
            let name = try reader.string(nameEntry, key: "name")
            if let problem = ConfigValidation.nameProblem(name) {
                throw reader.error(nameEntry, "battery name \(problem)")
            }
            if let earlier = namesSeen[name] {
                throw reader.error(nameEntry, "duplicate battery name \"\(name)\" (first used on line \(earlier))")
            }
            namesSeen[name] = nameEntry.line ?? 0
            let address: String
            let serial: SerialLine?
            let linkEntry: YAMLReader.Entry
            if let deviceEntry {
                let line = try reader.serialLine(deviceEntry, baud: fields["baud"])
                serial = line
                address = line.device
                linkEntry = deviceEntry
                if let entry = fields["adapter"] {
                    throw reader.error(atKeyOf: entry, "`adapter` applies to Bluetooth batteries only, not to `device`")
                }
                // The password exchange is a Bluetooth module's; a board on a serial line has none.
                if let entry = fields["password_file"] {
                    throw reader.error(atKeyOf: entry, "`password_file` applies to Bluetooth batteries only, not to `device`")
                }
            } else {
                guard let addressEntry else { throw ConfigError(source: source, line: line, "battery without `address`") }
                if let entry = fields["baud"] {
                    throw reader.error(atKeyOf: entry, "`baud` applies to a serial `device` only, not to a Bluetooth `address`")
                }
                let addressText = try reader.string(addressEntry, key: "address")
                guard let mac = ConfigValidation.macAddress(addressText) else {
                    throw reader.error(addressEntry, "bad address \"\(addressText)\": expected a Bluetooth MAC like A4:C1:38:12:34:56")
                }
                address = mac
                serial = nil
                linkEntry = addressEntry
            }
            if let earlier = addressesSeen[address] {
                let what = serial == nil ? "address" : "device"
                throw reader.error(linkEntry,
                                   "\(what) \(address) is listed twice (first on line \(earlier)); a BMS accepts one connection only")
            }
            addressesSeen[address] = linkEntry.line ?? 0
            var adapter = defaults.adapter
            if let entry = fields["adapter"] {
                adapter = try reader.string(entry, key: "adapter")
                guard ConfigValidation.isAdapterName(adapter) else {
                    throw reader.error(entry, "bad adapter \"\(adapter)\": expected a name like hci0")
                }
            }
            var keepConnected = true
            if let entry = fields["keep_connected"] { keepConnected = try reader.bool(entry, key: "keep_connected") }
            var interval = pollInterval
            if let entry = fields["poll_interval"] { interval = try reader.pollInterval(entry) }
            var bank = ""
            if let entry = fields["bank"] {
                bank = try reader.string(entry, key: "bank")
                // A bank name is a label value like a battery name: the same rules.
                if let problem = ConfigValidation.nameProblem(bank) {
                    throw reader.error(entry, "bank name \(problem)")
                }
            }
            var unlock: ModuleUnlock?
            if let entry = fields["password_file"] {
                let path = relative(try reader.string(entry, key: "password_file"), to: source)
                unlock = try ConfigValidation.unlock(
                    passwordFile: path, address: address, source: "\(source):\(entry.line ?? 0)", readFile: readFile)
            }
            batteries.append(BatteryConfig(
                name: name, address: address, adapter: adapter,
                schedule: PollSchedule(pollInterval: interval, keepConnected: keepConnected), serial: serial,
                bank: bank, unlock: unlock
            ))
        }
        return Document(batteries: batteries, adapters: adapters)
    }
}

/// `path` as given when absolute, else beside the config file at `source`.
private func relative(_ path: String, to source: String) -> String {
    guard !path.hasPrefix("/"), let slash = source.lastIndex(of: "/") else { return path }
    return String(source[...slash]) + path
}

extension YAMLReader {
    /// The `adapters:` section: `hci1: {max_links: 7, power_cycle_after: 5}`, each key optional.
    func adapterPolicies(_ section: Entry, defaults: AdapterPolicy) throws(ConfigError) -> [String: AdapterPolicy] {
        var policies: [String: AdapterPolicy] = [:]
        for (name, entry) in try mapping(section.value, what: "`adapters`", allowed: nil) {
            guard ConfigValidation.isAdapterName(name) else {
                throw error(atKeyOf: entry, "bad adapter \"\(name)\" in `adapters`: expected a name like hci0")
            }
            let fields = try mapping(entry.value, what: "adapter \(name)", allowed: ConfigFile.adapterKeys)
            var policy = defaults
            if let field = fields["max_links"] {
                policy.maxLinks = try integer(field, key: "max_links", in: AdapterPolicy.maxLinksRange)
            }
            if let field = fields["power_cycle_after"] {
                let count = try integer(field, key: "power_cycle_after", in: 0...AdapterPolicy.powerCycleRange.upperBound)
                if let problem = ConfigValidation.powerCycleProblem(count) { throw error(field, "`power_cycle_after` \(problem)") }
                policy.powerCycleAfter = count == 0 ? nil : count
            }
            policies[name] = policy
        }
        return policies
    }

    func integer(_ entry: Entry, key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try string(entry, key: key)
        guard let value = Int(text), range.contains(value) else {
            throw error(entry, "`\(key)` must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// `device:` and its optional `baud:`.
    func serialLine(_ deviceEntry: Entry, baud baudEntry: Entry?) throws(ConfigError) -> SerialLine {
        let device = try string(deviceEntry, key: "device")
        if let problem = ConfigValidation.devicePathProblem(device) {
            throw error(deviceEntry, "bad device \"\(device)\": \(problem)")
        }
        guard let baudEntry else { return SerialLine(device: device) }
        let text = try string(baudEntry, key: "baud")
        switch ConfigValidation.baudRate(text) {
        case .success(let baud)?: return SerialLine(device: device, baud: baud)
        case .failure(let problem)?: throw error(baudEntry, "\(problem)")
        case nil: throw error(baudEntry, "bad baud \"\(text)\": expected a number like 9600")
        }
    }

    func pollInterval(_ entry: Entry) throws(ConfigError) -> Duration {
        let text = try string(entry, key: "poll_interval")
        guard let interval = DurationText.parse(text) else {
            throw error(entry, "bad poll_interval \"\(text)\": expected a duration like 10s, 500ms or 1m")
        }
        if let problem = ConfigValidation.pollIntervalProblem(interval) {
            throw error(entry, "poll_interval \(text) \(problem)")
        }
        return interval
    }
}
