/// The double-quoted form both log formats share: backslash escapes for `\\`, `"`, `\n`, `\r`,
/// `\t`, and `\uXXXX` for the other characters the format says must not appear raw.
enum QuotedString {
    static func quote(_ text: String, escapingAsCodePoint mustEscape: (Unicode.Scalar) -> Bool) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default:
                if mustEscape(scalar) {
                    quoted += "\\u" + Logfmt.hex4(scalar.value)
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}
