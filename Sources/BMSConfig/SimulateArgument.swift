import BatterySession

/// `--simulate` takes an optional scenario (`--simulate`, `--simulate=NAME`, `--simulate NAME`),
/// which ArgumentParser cannot express: an option must have a value. So a bare `--simulate` is
/// rewritten to `--simulate=normal` before parsing, and `serve` declares an ordinary option.
public enum SimulateArgument {
    public static let flag = "--simulate"

    /// The command-line arguments (without the program name) with a bare `--simulate` given its
    /// default scenario. A `--simulate` followed by a word that is not a flag keeps that word as its value.
    public static func normalise(_ arguments: [String]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(arguments.count)
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            // Everything after `--` is a positional argument, never a flag.
            if argument == "--" {
                result += arguments[index...]
                break
            }
            if argument == flag {
                let next = arguments.index(after: index)
                if next == arguments.endIndex || arguments[next].hasPrefix("-") {
                    result.append(flag + "=" + SimulationScenario.normal.rawValue)
                    index = next
                    continue
                }
            }
            result.append(argument)
            index = arguments.index(after: index)
        }
        return result
    }
}
