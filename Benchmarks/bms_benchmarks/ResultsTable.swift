/// The results as a Markdown table, one row per figure, and notes that explain them.
struct ResultsTable {
    private struct Row {
        let item: String
        let measure: String
        let median: String
        let p99: String
        let target: String
        let met: Bool?
    }

    private var rows: [Row] = []
    private var notes: [String] = []

    private mutating func row(_ item: String, _ measure: String, _ median: String, _ p99: String,
                              target: String = "", met: Bool? = nil) {
        rows.append(Row(item: item, measure: measure, median: median, p99: p99, target: target, met: met))
    }

    mutating func add(_ result: DecodeBenchmark.Result, load: String) {
        row("1 decode", "frames/s (0x03 \(result.frameBytes.basicInfo) B + 0x04 \(result.frameBytes.cellVoltages) B, 20-byte chunks)",
            fixed(result.framesPerSecond.median, 0), fixed(result.framesPerSecond.p1, 0),
            target: "≥ 1,000,000", met: result.framesPerSecond.median >= 1_000_000)
        row("1 decode", "ns per frame", fixed(result.nanosecondsPerFrame.median, 0), fixed(result.nanosecondsPerFrame.p99, 0))
        notes.append("1: \(result.framesPerSecond.count) runs of 10,000 frames; p99 of a rate = the slowest 1 % of runs. Load \(load).")
    }

    mutating func add(_ result: RenderBenchmark.Result, load: String) {
        let target = result.batteries == 1 ? 50.0 : result.batteries == 64 ? 1000.0 : nil
        row("2 render", "µs per render, \(result.batteries) × 16 cells (\(grouped(result.bytes)) bytes, \(grouped(result.lines)) lines)",
            fixed(result.microseconds.median, 1), fixed(result.microseconds.p99, 1),
            target: target.map { "≤ \(fixed($0, 0)) µs" } ?? "", met: target.map { result.microseconds.median <= $0 })
        notes.append("2 (\(result.batteries)): \(grouped(result.microseconds.count)) renders. Load \(load).")
    }

    mutating func add(_ result: PollBenchmark.Result, load: String) {
        row("3 poll", "wall ms per poll (0x03 + 0x04, zero-delay fake)", fixed(result.wallMicroseconds.median / 1000, 3),
            fixed(result.wallMicroseconds.p99 / 1000, 3), target: "≤ 2 ms", met: result.wallMicroseconds.median <= 2000)
        row("3 poll", "our CPU ms per poll (all our threads)", fixed(result.cpuMicroseconds.median / 1000, 3),
            fixed(result.cpuMicroseconds.p99 / 1000, 3), target: "≤ 1 ms", met: result.cpuMicroseconds.median <= 1000)
        var note = "3: \(grouped(result.polls)) polls after 50 warm-up polls, \(result.failures) failed; our process CPU over the "
            + "whole run \(fixed(result.processCPUPerPollMicroseconds / 1000, 3)) ms per poll (incl. between polls)"
        if let fake = result.fakeCPUPerPollMicroseconds { note += "; not ours: fake BlueZ (python) \(fixed(fake / 1000, 3)) ms" }
        if let bus = result.busCPUPerPollMicroseconds { note += ", dbus-daemon \(fixed(bus / 1000, 3)) ms per poll" }
        notes.append(note + ". Load \(load).")
    }

    mutating func add(_ result: HTTPBenchmark.Result, load: String) {
        row("4 HTTP", "requests/s, /metrics of 1 battery (\(grouped(result.bodyBytes)) bytes)",
            fixed(result.requestsPerSecond.median, 0), fixed(result.requestsPerSecond.minimum, 0) + " (worst run)",
            target: "≥ 10,000", met: result.requestsPerSecond.median >= 10_000)
        row("4 HTTP", "latency ms (wrk's p50 | p99)", fixed(result.p50Milliseconds.median, 2),
            fixed(result.p99Milliseconds.median, 2) + " (worst run " + fixed(result.p99Milliseconds.maximum, 2) + ")",
            target: "p99 ≤ 5 ms", met: result.p99Milliseconds.median <= 5)
        notes.append("4: \(result.arguments), \(result.runs.count) run(s) (median of runs), \(result.errors) errors; server CPU "
            + "\(fixed(result.serverCPUMicroseconds.median, 1)) µs per request. wrk shares the 2 cores. Load \(load).")
    }

    mutating func add(_ result: MemoryBenchmark.Idle) {
        let eight = result.label.contains(" 8 ")
        row("5 RSS", "idle, \(result.label) (anon \(fixed(Double(result.last.anonymous) / 1024, 1)) + file "
                + "\(fixed(Double(result.last.file) / 1024, 1)) MB)",
            fixed(result.rssMB.median, 1) + " MB", fixed(result.rssMB.maximum, 1) + " MB (max)",
            target: eight ? "≤ 20 MB" : "", met: eight ? result.rssMB.median <= 20 : nil)
    }

    mutating func add(_ result: MemoryBenchmark.Soak) {
        let growth = Double(result.growthKB) / 1024
        row("5 RSS", "\(result.label): after \(grouped(result.afterWarmUpPolls)) → \(grouped(result.polls)) polls",
            fixed(result.afterWarmUp.rssMB, 1) + " → " + fixed(result.atEnd.rssMB, 1) + " MB",
            "growth " + fixed(growth, 2) + " MB",
            target: "no growth", met: result.growthKB <= 256)
        let trace = result.trace.map { "\(grouped($0.polls)): \(fixed(Double($0.rss) / 1024, 1))" }.joined(separator: ", ")
        notes.append("5 soak: \(grouped(result.polls)) polls in \(fixed(result.seconds, 0)) s, \(result.failures) failed; "
            + "RSS at first reading \(fixed(result.atStart.rssMB, 1)) MB; RSS MB by polls: \(trace). "
            + "'No growth' allows 256 kB of allocator noise.")
    }

    func print() {
        var lines = ["| Item | Measure | Median | p99 | Target | Met |", "|---|---|---:|---:|---|---|"]
        for row in rows {
            let met = row.met.map { $0 ? "yes" : "**no**" } ?? ""
            lines.append("| \(row.item) | \(row.measure) | \(row.median) | \(row.p99) | \(row.target) | \(met) |")
        }
        Swift.print(lines.joined(separator: "\n"))
        if !notes.isEmpty {
            Swift.print("")
            for note in notes { Swift.print("- " + note) }
        }
    }
}

