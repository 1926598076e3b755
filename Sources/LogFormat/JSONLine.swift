/// One JSON object per line, keys in the order given (a later duplicate key is dropped, so
/// the object stays valid for parsers that reject duplicates).
enum JSONLine {
    static func line(_ pairs: [(key: String, value: String)]) -> String {
        var seen = Set<String>()
        var line = "{"
        for pair in pairs where seen.insert(pair.key).inserted {
            if line.count > 1 { line += "," }
            line += string(pair.key)
            line += ":"
            line += string(pair.value)
        }
        return line + "}\n"
    }

    static func string(_ text: String) -> String {
        // JSON must escape C0 controls and may leave C1 ones as they are.
        QuotedString.quote(text) { $0.value < 0x20 || $0.value == 0x7F }
    }
}
