import Foundation

/// Command-line options; deliberately tiny so the benchmark needs no argument parser.
struct Options {
    enum Section: String, CaseIterable {
        case decode, render, poll, http, memory
    }

    static let usage = """
        usage: bms_benchmarks [SECTION…] [--quick] [--binary PATH] [--soak-polls N]
                              [--http-runs N] [--http-seconds S]
        sections: \(Section.allCases.map(\.rawValue).joined(separator: " ")) (default: all)
        --binary   the release bms_exporter to measure (default: next to this executable,
                   or $BMS_EXPORTER_BIN)
        """

    var sections: Set<Section> = []
    var quick = false
    var binary: String
    var soakPolls = 10_000
    var httpRuns = 3
    var httpSeconds = 10

    init<S: Sequence>(_ arguments: S) throws where S.Element == String {
        let ownDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        binary = ProcessInfo.processInfo.environment["BMS_EXPORTER_BIN"]
            ?? ownDirectory.appendingPathComponent("bms_exporter").path
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws -> String {
            guard let next = iterator.next() else { throw BenchmarkError.tool("\(flag) needs a value") }
            return next
        }
        func number(_ flag: String) throws -> Int {
            let text = try value(flag)
            guard let number = Int(text), number > 0 else { throw BenchmarkError.tool("\(flag): \(text) is not a positive number") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "--quick": quick = true
            case "--binary": binary = try value(argument)
            case "--soak-polls": soakPolls = try number(argument)
            case "--http-runs": httpRuns = try number(argument)
            case "--http-seconds": httpSeconds = try number(argument)
            case "-h", "--help":
                print(Self.usage)
                exit(0)
            default:
                guard let section = Section(rawValue: argument) else { throw BenchmarkError.tool("unknown argument \(argument)") }
                sections.insert(section)
            }
        }
        if sections.isEmpty { sections = Set(Section.allCases) }
        if quick {
            soakPolls = min(soakPolls, 2_000)
            httpRuns = 1
            httpSeconds = min(httpSeconds, 5)
        }
        if sections.contains(.http) || sections.contains(.memory) {
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw BenchmarkError.tool("no bms_exporter binary at \(binary): build it, or pass --binary")
            }
        }
    }
}
