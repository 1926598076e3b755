// Shared by the YAML harnesses (config-file, web-config); scripts/fuzz compiles it into each.

/// Line breaks as YAML counts them: CR LF, CR, LF, and the Unicode breaks NEL, LS and PS.
/// (A lone CR starts a new line for libyaml, though many editors show it as `^M`.)
func yamlLineBreaks(in text: String) -> Int {
    var count = 0
    var afterCR = false
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0x0A: if !afterCR { count += 1 }
        case 0x0D, 0x85, 0x2028, 0x2029: count += 1
        default: break
        }
        afterCR = scalar.value == 0x0D
    }
    return count
}

/// A failed check is a crash, which libFuzzer reports with the input that caused it.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
