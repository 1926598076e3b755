/// Refuses a flag given twice. ArgumentParser keeps the last value of a single-value option,
/// so a second `--web.listen-address` (say, appended in a unit's override) would silently win;
/// a Prometheus exporter stops instead, naming the flag.
///
/// Every long flag of this CLI takes a single value (none is repeatable), so the check needs no
/// per-command list that could drift from the commands: any long flag seen twice is an error.
/// Aliases count as the flag they stand for.
enum RepeatedFlags {
    /// Alternative spellings and the flag each stands for.
    static let aliases = ["--adapter": "--bluez.adapter"]

    struct Repeated: Error, CustomStringConvertible {
        let flag: String
        let spellings: [String]

        var description: String {
            let given = Set(spellings).count > 1 ? " (as \(spellings.joined(separator: " and ")))" : ""
            return "flag \(flag) given more than once\(given); give it once"
        }
    }

    static func check(_ arguments: [String]) throws(Repeated) {
        var seen: [String: [String]] = [:]
        var order: [String] = []
        for argument in arguments {
            // `--` ends the flags: whatever follows is a positional argument.
            if argument == "--" { break }
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            let spelling = String(argument.prefix { $0 != "=" })
            let flag = aliases[spelling] ?? spelling
            if seen[flag] == nil { order.append(flag) }
            seen[flag, default: []].append(spelling)
        }
        for flag in order where seen[flag]!.count > 1 {
            throw Repeated(flag: flag, spellings: seen[flag]!)
        }
    }
}
