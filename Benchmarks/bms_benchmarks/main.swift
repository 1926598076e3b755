import Foundation
import TestSupport

// bms_benchmarks: speed and memory figures of bms_exporter (see Benchmarks/README.md).
// `scripts/benchmark` builds everything in release mode and runs this; it prints a table.

if CommandLine.arguments.dropFirst().first == "profile" {
    do {
        try Profile.run(Array(CommandLine.arguments.dropFirst(2)))
    } catch {
        FileHandle.standardError.write(Data("bms_benchmarks: \(error)\n".utf8))
        exit(2)
    }
    exit(0)
}

let options: Options
do {
    options = try Options(CommandLine.arguments.dropFirst())
} catch {
    FileHandle.standardError.write(Data("bms_benchmarks: \(error)\n\n\(Options.usage)\n".utf8))
    exit(2)
}

var table = ResultsTable()
func progress(_ text: String) {
    FileHandle.standardError.write(Data("[\(ProcessStats.loadAverage())] \(text)\n".utf8))
}

do {
    if options.sections.contains(.decode) {
        progress("1. decode: frame assembly + decode in 20-byte chunks")
        table.add(DecodeBenchmark.run(runs: options.quick ? 50 : 300, pairsPerRun: 5_000), load: ProcessStats.loadAverage())
    }
    if options.sections.contains(.render) {
        for (batteries, renders) in [(1, 20_000), (8, 4_000), (64, 600)] {
            progress("2. render /metrics for \(batteries) batteries of 16 cells")
            table.add(RenderBenchmark.run(batteries: batteries, renders: options.quick ? renders / 10 : renders),
                      load: ProcessStats.loadAverage())
        }
    }
    if options.sections.contains(.poll) {
        progress("3. polls against the zero-delay fake BlueZ")
        table.add(try await PollBenchmark.run(polls: options.quick ? 300 : 2_000), load: ProcessStats.loadAverage())
    }
    if options.sections.contains(.http) {
        progress("4. /metrics over HTTP with wrk (\(options.httpRuns) × \(options.httpSeconds) s)")
        table.add(try HTTPBenchmark.run(binary: options.binary, runs: options.httpRuns, seconds: options.httpSeconds),
                  load: ProcessStats.loadAverage())
    }
    if options.sections.contains(.memory) {
        let starts = options.quick ? 1 : 3
        progress("5. RSS idle: serve --simulate")
        table.add(try MemoryBenchmark.idleSimulated(binary: options.binary, starts: starts, settle: 3))
        for batteries in [1, 8] {
            progress("5. RSS idle: serve with \(batteries) fake batteries")
            table.add(try await MemoryBenchmark.idleFake(binary: options.binary, batteries: batteries, starts: starts, settle: 3))
        }
        progress("5. RSS over \(options.soakPolls) polls: 8 fake batteries every 50ms")
        table.add(try await MemoryBenchmark.soak(binary: options.binary, batteries: 8, interval: "50ms", polls: options.soakPolls))
    }
} catch {
    table.print()
    FileHandle.standardError.write(Data("bms_benchmarks: \(error)\n".utf8))
    exit(1)
}
table.print()
