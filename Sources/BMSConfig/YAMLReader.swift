import Yams

/// Typed reads of a YAML document for config files: every problem becomes a `ConfigError`
/// naming the file and the line, and unknown keys are errors, not silently ignored.
public struct YAMLReader: Sendable {
    public let source: String

    public init(source: String) {
        self.source = source
    }

    /// A value and the line of its key (an empty value may have no position of its own).
    public struct Entry {
        public let value: Node
        public let keyLine: Int?
        public var line: Int? { value.mark?.line ?? keyLine }

        public init(value: Node, keyLine: Int?) {
            self.value = value
            self.keyLine = keyLine
        }
    }

    public func error(_ entry: Entry, _ message: String) -> ConfigError {
        ConfigError(source: source, line: entry.line, message)
    }

    /// For a problem with a whole section: the line of its key rather than of its first entry.
    public func error(atKeyOf entry: Entry, _ message: String) -> ConfigError {
        ConfigError(source: source, line: entry.keyLine ?? entry.line, message)
    }

    /// `allowed: nil` takes any key (user names). An empty value reads as an empty mapping.
    public func mapping(_ node: Node, what: String, allowed: Set<String>?, unsupported: [String: String] = [:])
        throws(ConfigError) -> [String: Entry] {
        if Self.isNull(node) { return [:] }
        guard case let .mapping(mapping) = node else {
            throw ConfigError(source: source, line: node.mark?.line, "\(what) must be a mapping of keys to values")
        }
        var fields: [String: Entry] = [:]
        for (keyNode, value) in mapping {
            guard case let .scalar(key) = keyNode else {
                throw ConfigError(source: source, line: keyNode.mark?.line, "keys must be plain words")
            }
            if let reason = unsupported[key.string] {
                throw ConfigError(source: source, line: keyNode.mark?.line, "`\(key.string)` in \(what): \(reason); remove the key")
            }
            if let allowed, !allowed.contains(key.string) {
                let known = allowed.sorted().joined(separator: ", ")
                throw ConfigError(source: source, line: keyNode.mark?.line, "unknown key `\(key.string)` in \(what) (known: \(known))")
            }
            guard fields[key.string] == nil else {
                throw ConfigError(source: source, line: keyNode.mark?.line, "key `\(key.string)` appears twice in \(what)")
            }
            fields[key.string] = Entry(value: value, keyLine: keyNode.mark?.line)
        }
        return fields
    }

    public func string(_ entry: Entry, key: String) throws(ConfigError) -> String {
        guard case let .scalar(scalar) = entry.value else { throw error(entry, "`\(key)` must be a single value") }
        return Self.isNull(entry.value) ? "" : scalar.string
    }

    /// An empty value (`key:`), `~` or `null`; a quoted "" is an empty string instead.
    public static func isNull(_ node: Node) -> Bool {
        node.tag.rawValue == Tag.Name.null.rawValue
    }

    public func bool(_ entry: Entry, key: String) throws(ConfigError) -> Bool {
        switch try string(entry, key: key).lowercased() {
        case "true": return true
        case "false": return false
        case let other: throw error(entry, "`\(key)` must be true or false, not \"\(other)\"")
        }
    }

    public func syntaxError(_ error: YamlError) -> ConfigError {
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

extension YAMLReader {
    /// Parses `text`; nil for an empty document. Syntax errors name their line; so do the
    /// constructs `YAMLShapeCheck` refuses, found before Yams composes anything.
    public func compose(_ text: String) throws(ConfigError) -> Node? {
        let size = text.utf8.count
        guard size <= YAMLShapeCheck.maximumDocumentBytes else {
            throw ConfigError(source: source,
                              "\(size) bytes is more than a config file may hold (\(YAMLShapeCheck.maximumDocumentBytes / 1024) KiB)")
        }
        if let finding = YAMLShapeCheck.findings(in: text).first {
            throw ConfigError(source: source, line: finding.line, Self.message(for: finding.refusal))
        }
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error)
        } catch {
            throw ConfigError(source: source, "cannot read YAML: \(error)")
        }
    }

    static func message(for refusal: YAMLShapeCheck.Refusal) -> String {
        switch refusal {
        case .anchorOrAlias:
            "YAML anchors and aliases (&name, *name) are not supported in this file; write the value out"
        case .complexKey:
            "complex mapping keys (a list or mapping as a key) are not supported in this file; keys are plain words"
        case .tooDeep:
            "lists and mappings are nested more than \(YAMLShapeCheck.maximumDepth) levels deep; this file needs three"
        }
    }
}
