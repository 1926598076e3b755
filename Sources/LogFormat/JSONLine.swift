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
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    quoted += "\\u" + Logfmt.hex4(scalar.value)
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}
