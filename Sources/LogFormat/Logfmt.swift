/// The logfmt encoding go-kit and Go's `slog.TextHandler` write.
///
/// A value is bare unless it is empty or holds a space, `=`, `"` or a control character; then
/// it is double-quoted with `\`, `"` and control characters escaped. Keys cannot be quoted in
/// logfmt, so those characters in a key become `_`.
enum Logfmt {
    static func line(_ pairs: [(key: String, value: String)]) -> String {
        var line = ""
        for (index, pair) in pairs.enumerated() {
            if index > 0 { line += " " }
            line += key(pair.key)
            line += "="
            line += value(pair.value)
        }
        return line + "\n"
    }

    static func key(_ key: String) -> String {
        guard !key.isEmpty else { return "_" }
        return String(String.UnicodeScalarView(key.unicodeScalars.map { needsQuoting($0) ? "_" : $0 }))
    }

    static func value(_ value: String) -> String {
        guard value.isEmpty || value.unicodeScalars.contains(where: needsQuoting) else { return value }
        return QuotedString.quote(value, escapingAsCodePoint: isControl)
    }

    private static func needsQuoting(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "=" || scalar == "\"" || isControl(scalar)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
    }

    static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
