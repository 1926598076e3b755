// Yams' vendored libyaml. Yams does not re-export its parser events, and the check below must
// see the document exactly as the parser that composes it later does: as events, not characters.
internal import CYaml

/// Refuses the YAML constructs that config files never need and that make composing expensive,
/// before Yams composes a single node.
///
/// - Anchors and aliases (`&a`, `*a`): Yams expands an alias into a copy of its node and hashes
///   mapping keys node by node for its duplicate check, so keys built from nested aliases take
///   exponential time (24 levels in an 827-byte file: 14 s; 40 levels: hours).
/// - Complex keys (a list or mapping used as a key, `? [a]` or `[a, b]: c`): the same hashing
///   grows steeply with nesting. Scalar keys, also written with `?`, are harmless and allowed.
/// - Nesting deeper than `maximumDepth`: Yams composes recursively, so depth costs stack.
///
/// The check walks libyaml's own event stream, so quotes, comments, block scalars and flow
/// style are told apart by the same parser that reads the file afterwards: a `'` inside a plain
/// scalar or an `&` inside a value cannot mislead it. A syntax error ends the walk early and is
/// left for Yams to report, with its line; every event before it has been checked.
enum YAMLShapeCheck {
    /// Bytes of a config or web config file. The largest real ones are a few kilobytes (about
    /// 100 bytes per battery or user); 64 KiB leaves room for hundreds of entries.
    static let maximumDocumentBytes = 64 * 1024
    /// Nested lists and mappings. The config file and the web config need three levels
    /// (top level, a section, its list or mapping); 16 leaves room and bounds the recursion.
    static let maximumDepth = 16

    /// A construct the check refuses.
    enum Refusal: Equatable, Sendable {
        case anchorOrAlias
        case complexKey
        case tooDeep
    }

    struct Finding: Equatable, Sendable {
        let refusal: Refusal
        /// 1-based, counted as libyaml and Yams count lines.
        let line: Int
    }

    /// Every refused construct in `text`, in document order; empty when there is none.
    static func findings(in text: String) -> [Finding] {
        guard !text.isEmpty else { return [] }  // libyaml asserts on a buffer without an address
        return Array(text.utf8).withUnsafeBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return [] }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var walk = Walk()
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                let done = event.type == YAML_STREAM_END_EVENT
                walk.visit(event)
                yaml_event_delete(&event)
                if done { break }
            }
            return walk.findings
        }
    }

    /// The state of one walk through the events: the open collections and what was found.
    private struct Walk {
        /// One open list or mapping; a mapping alternates between expecting a key and a value.
        enum Collection { case sequence, mapping(expectingKey: Bool) }

        var open: [Collection] = []
        var findings: [Finding] = []

        mutating func visit(_ event: yaml_event_t) {
            let line = Int(event.start_mark.line) + 1
            switch event.type {
            case YAML_ALIAS_EVENT:
                findings.append(Finding(refusal: .anchorOrAlias, line: line))
                finishNode()
            case YAML_SCALAR_EVENT:
                if event.data.scalar.anchor != nil { findings.append(Finding(refusal: .anchorOrAlias, line: line)) }
                finishNode()
            case YAML_SEQUENCE_START_EVENT:
                startCollection(.sequence, anchored: event.data.sequence_start.anchor != nil, line: line)
            case YAML_MAPPING_START_EVENT:
                startCollection(.mapping(expectingKey: true), anchored: event.data.mapping_start.anchor != nil, line: line)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                _ = open.popLast()  // libyaml balances start and end events; never trap if it did not
                finishNode()
            default:
                break  // stream and document boundaries
            }
        }

        private mutating func startCollection(_ collection: Collection, anchored: Bool, line: Int) {
            if anchored { findings.append(Finding(refusal: .anchorOrAlias, line: line)) }
            if case .mapping(expectingKey: true) = open.last { findings.append(Finding(refusal: .complexKey, line: line)) }
            open.append(collection)
            if open.count == maximumDepth + 1 { findings.append(Finding(refusal: .tooDeep, line: line)) }
        }

        /// A whole node (scalar, alias or closed collection) has been read: inside a mapping,
        /// a key is followed by its value and a value by the next key.
        private mutating func finishNode() {
            guard case let .mapping(expectingKey) = open.last else { return }
            open[open.count - 1] = .mapping(expectingKey: !expectingKey)
        }
    }
}
