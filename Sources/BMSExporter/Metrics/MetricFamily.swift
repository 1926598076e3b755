/// One metric family of the exposition: its name, type and help text, and a way to list
/// its samples for one battery.
struct MetricFamily: Sendable {
    enum Kind: String, Sendable {
        case gauge, counter
    }

    let name: String
    let kind: Kind
    let help: String
    /// Appends this family's samples for one battery; `reading` is nil when it is not fresh.
    let samples: @Sendable (_ status: BatteryStatus, _ reading: Reading?, _ out: inout SampleWriter) -> Void
}

/// Writes sample lines of one family, all carrying the battery label first.
struct SampleWriter {
    private(set) var text: String
    let family: String
    let batteryLabel: String

    init(text: String, family: String, battery: String) {
        self.text = text
        self.family = family
        self.batteryLabel = "battery=\"" + LabelValue.escape(battery) + "\""
    }

    var isEmpty: Bool { text.isEmpty }

    mutating func sample(_ value: Double) {
        text += family + "{" + batteryLabel + "} " + Self.format(value) + "\n"
    }

    mutating func sample(_ value: Double, _ label: String, _ labelValue: String) {
        text += family + "{" + batteryLabel + "," + label + "=\"" + LabelValue.escape(labelValue) + "\"} "
            + Self.format(value) + "\n"
    }

    mutating func sample(_ value: Double, labels: [(String, String)]) {
        text += family + "{" + batteryLabel
        for (name, labelValue) in labels { text += "," + name + "=\"" + LabelValue.escape(labelValue) + "\"" }
        text += "} " + Self.format(value) + "\n"
    }

    mutating func sample(_ flag: Bool, _ label: String, _ labelValue: String) {
        sample(flag ? 1 : 0, label, labelValue)
    }

    /// Whole numbers without a fraction, as Prometheus' own clients write them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }
}

/// Label values may hold any UTF-8; backslash, double quote and newline must be escaped.
enum LabelValue {
    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") })
        else { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// HELP text escapes backslash and newline only.
    static func escapeHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}
