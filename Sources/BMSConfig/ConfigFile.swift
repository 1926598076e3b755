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
///
/// Every problem is reported with its line, at start-up, before anything connects.
public enum ConfigFile {
    static let topLevelKeys: Set<String> = ["poll_interval", "batteries"]
    static let batteryKeys: Set<String> = ["name", "address", "adapter", "keep_connected", "poll_interval"]

    public struct Defaults: Sendable {
        public var adapter: String
        public var pollInterval: Duration

        public init(adapter: String, pollInterval: Duration) {
            self.adapter = adapter
            self.pollInterval = pollInterval
        }
    }

    public static func parse(_ text: String, source: String, defaults: Defaults) throws(ConfigError) -> [BatteryConfig] {
        let root: Node
        do {
            guard let document = try Yams.compose(yaml: text) else {
                throw ConfigError(source: source, "the file is empty; it must list `batteries`")
            }
            root = document
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, source: source)
        } catch {
            throw ConfigError(source: source, "cannot read YAML: \(error)")
        }
        let reader = NodeReader(source: source)
        let top = try reader.mapping(root, what: "the top level", allowed: topLevelKeys)
        var pollInterval = defaults.pollInterval
        if let node = top["poll_interval"] {
            pollInterval = try reader.pollInterval(node)
        }
        guard let batteriesNode = top["batteries"] else {
            throw ConfigError(source: source, line: root.mark?.line, "missing `batteries`: list at least one battery")
        }
        guard case let .sequence(list) = batteriesNode, !list.isEmpty else {
            throw ConfigError(source: source, line: batteriesNode.mark?.line, "`batteries` must be a non-empty list")
        }
        var batteries: [BatteryConfig] = []
        var namesSeen: [String: Int] = [:]
        var addressesSeen: [String: Int] = [:]
        for node in list {
            let line = node.mark?.line ?? 0
            let fields = try reader.mapping(node, what: "a battery", allowed: batteryKeys)
            guard let nameNode = fields["name"] else { throw ConfigError(source: source, line: line, "battery without `name`") }
            guard let addressNode = fields["address"] else {
                throw ConfigError(source: source, line: line, "battery without `address`")
            }
            let name = try reader.string(nameNode, key: "name")
            if let problem = ConfigValidation.nameProblem(name) {
                throw ConfigError(source: source, line: nameNode.mark?.line, "battery name \(problem)")
            }
            if let earlier = namesSeen[name] {
                throw ConfigError(source: source, line: nameNode.mark?.line, "duplicate battery name \"\(name)\" (first used on line \(earlier))")
            }
            namesSeen[name] = nameNode.mark?.line ?? line
            let addressText = try reader.string(addressNode, key: "address")
            guard let address = ConfigValidation.macAddress(addressText) else {
                throw ConfigError(source: source, line: addressNode.mark?.line,
                                  "bad address \"\(addressText)\": expected a Bluetooth MAC like A4:C1:38:12:34:56")
            }
            if let earlier = addressesSeen[address] {
                throw ConfigError(source: source, line: addressNode.mark?.line,
                                  "address \(address) is listed twice (first on line \(earlier)); a BMS accepts one connection only")
            }
            addressesSeen[address] = addressNode.mark?.line ?? line
            var adapter = defaults.adapter
            if let node = fields["adapter"] {
                adapter = try reader.string(node, key: "adapter")
                guard ConfigValidation.isAdapterName(adapter) else {
                    throw ConfigError(source: source, line: node.mark?.line, "bad adapter \"\(adapter)\": expected a name like hci0")
                }
            }
            var keepConnected = true
            if let node = fields["keep_connected"] { keepConnected = try reader.bool(node, key: "keep_connected") }
            var interval = pollInterval
            if let node = fields["poll_interval"] { interval = try reader.pollInterval(node) }
            batteries.append(BatteryConfig(
                name: name, address: address, adapter: adapter,
                schedule: PollSchedule(pollInterval: interval, keepConnected: keepConnected)
            ))
        }
        return batteries
    }

    private static func syntaxError(_ error: YamlError, source: String) -> ConfigError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return ConfigError(source: source, line: mark.line, "YAML syntax error: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, _):
            return ConfigError(source: source, "duplicate key(s): \(duplicates.joined(separator: ", "))")
        default:
            return ConfigError(source: source, "YAML error: \(error)")
        }
    }
}

/// Typed reads of YAML nodes, each failure naming the key and line.
private struct NodeReader {
    let source: String

    func mapping(_ node: Node, what: String, allowed: Set<String>) throws(ConfigError) -> [String: Node] {
        guard case let .mapping(mapping) = node else {
            throw ConfigError(source: source, line: node.mark?.line, "\(what) must be a mapping of keys to values")
        }
        var fields: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case let .scalar(key) = keyNode else {
                throw ConfigError(source: source, line: keyNode.mark?.line, "keys must be plain words")
            }
            guard allowed.contains(key.string) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw ConfigError(source: source, line: keyNode.mark?.line, "unknown key `\(key.string)` in \(what) (known: \(known))")
            }
            guard fields[key.string] == nil else {
                throw ConfigError(source: source, line: keyNode.mark?.line, "key `\(key.string)` appears twice")
            }
            fields[key.string] = value
        }
        return fields
    }

    func string(_ node: Node, key: String) throws(ConfigError) -> String {
        guard case let .scalar(scalar) = node else {
            throw ConfigError(source: source, line: node.mark?.line, "`\(key)` must be a single value")
        }
        return scalar.string
    }

    func bool(_ node: Node, key: String) throws(ConfigError) -> Bool {
        switch try string(node, key: key).lowercased() {
        case "true": return true
        case "false": return false
        case let other: throw ConfigError(source: source, line: node.mark?.line, "`\(key)` must be true or false, not \"\(other)\"")
        }
    }

    func pollInterval(_ node: Node) throws(ConfigError) -> Duration {
        let text = try string(node, key: "poll_interval")
        guard let interval = DurationText.parse(text) else {
            throw ConfigError(source: source, line: node.mark?.line, "bad poll_interval \"\(text)\": expected a duration like 10s, 500ms or 1m")
        }
        if let problem = ConfigValidation.pollIntervalProblem(interval) {
            throw ConfigError(source: source, line: node.mark?.line, "poll_interval \(text) \(problem)")
        }
        return interval
    }
}
