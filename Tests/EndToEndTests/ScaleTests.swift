import TestSupport
import Foundation
import Testing

extension Reliability {
    /// Issue 15, item 6: 32 batteries over two adapters (each holding five links at most) at 5 s
    /// polls. Every scrape is checked for wrong values, every battery must be read (or counted as
    /// failed) in every interval, memory, threads and descriptors stay flat, and the fake never
    /// sees two outstanding `Connect()`s on one adapter. The short run is part of the default
    /// tests; `scripts/scale` runs the long one (`BMS_SCALE_SECONDS`, e.g. 600).
    @Suite struct ScaleTests {
        @Test func thirtyTwoBatteriesOnTwoAdapters() async throws {
            let report = try await ScaleRun(seconds: 45).run()
            print(report.summary)
            report.expectHealthy()
            guard report.samples.count >= 2 else { return }  // expectHealthy recorded it; no growth to measure
            #expect(report.residentGrowthKilobytes < 16_000, "\(report.summary)")
        }

        @Test(.enabled(if: ScaleRun.requestedSeconds != nil, "set BMS_SCALE_SECONDS (scripts/scale)"))
        func longScale() async throws {
            let report = try await ScaleRun(seconds: ScaleRun.requestedSeconds ?? 600).run()
            print(report.summary)
            if let path = ProcessInfo.processInfo.environment["BMS_SCALE_OUT"] {
                try report.summary.write(toFile: path, atomically: true, encoding: .utf8)
            }
            report.expectHealthy()
            #expect(report.slopeKilobytesPerHour < 2_000, "\(report.summary)")
        }
    }
}

/// One scale run: the rig, a scraper checking every value, /proc samples, the fake's connect counters.
struct ScaleRun: Sendable {
    static var requestedSeconds: Int? { ProcessInfo.processInfo.environment["BMS_SCALE_SECONDS"].flatMap { Int($0) } }
    static let adapters = ["hci0", "hci1"]
    static let perAdapter = 16
    /// What each controller holds (a CSR8510 or a Pi's CYW43455), and the exporter's default budget.
    static let controllerLinks = 5

    let seconds: Int
    var interval = Duration.seconds(5)

    /// 16 batteries per adapter, each with values of its own so a sample that reaches the wrong
    /// battery cannot go unnoticed.
    static let batteries: [FaultBattery] = adapters.enumerated().flatMap { adapterIndex, adapter in
        (0..<perAdapter).map { index in
            let number = adapterIndex * perAdapter + index
            var battery = FaultBattery.trio[number % 3]
            battery.name = "\(adapter)-\(index + 1)"
            battery.address = String(format: "A4:C1:38:5C:%02X:%02X", adapterIndex, index)
            battery.cellsMillivolts = battery.cellsMillivolts.enumerated().map { $1 + number * 3 + $0 }
            battery.cycles = 100 + number
            battery.gattCache = false
            battery.adapter = adapter
            return battery
        }
    }

    func run() async throws -> ScaleReport {
        let rig = try await ExporterRig.start(
            Self.batteries, config: FaultBattery.config(Self.batteries, pollInterval: "\(Int(interval.seconds))s"),
            adapters: Self.adapters, adapterSettings: ["max_le_links": Self.controllerLinks])
        var report = ScaleReport(seconds: seconds, interval: interval, batteries: Self.batteries.count)
        do {
            try await observe(rig, &report)
        } catch {
            report.setupError = "\(error)"
        }
        // Stopping waits for the processes to exit: on threads of their own, not the cooperative pool.
        report.exitStatus = await rig.stopOffPool()
        return report
    }

    private func observe(_ rig: ExporterRig<FaultBattery>, _ report: inout ScaleReport) async throws {
        let server = rig.server
        let names = Self.batteries.map(\.name)
        let expected = Dictionary(uniqueKeysWithValues: Self.batteries.map { ($0.name, $0.expectedSamples) })
        // Warm-up: every battery read once (the first connects discover each battery).
        let began = Date().timeIntervalSince1970
        var firstUp = false
        let warmUp = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < warmUp {
            let samples = parseExposition(try await server.request("/metrics").body)
            if names.allSatisfy({ samples[#"bms_up{battery="\#($0)"}"#] == 1 }) {
                firstUp = true
                break
            }
            try await Task.sleep(for: .milliseconds(250))  // a scraper's pace
        }
        guard firstUp else { throw ScaleError.neverUp(server.log.suffix(3000).description) }
        report.warmUpSeconds = Date().timeIntervalSince1970 - began

        let start = Date().timeIntervalSince1970
        let clock = ContinuousClock()
        let end = clock.now + .seconds(seconds)
        var reads: [String: Set<Double>] = [:]
        var failuresAtStart: [String: Double] = [:]
        var failuresNow: [String: Double] = [:]
        var nextSample = clock.now
        while clock.now < end {
            let before = clock.now
            let body = try await server.request("/metrics").body
            report.scrapeMilliseconds.append((clock.now - before).seconds * 1000)
            report.scrapeBytes = body.utf8.count
            let samples = parseExposition(body)
            report.scrapes += 1
            for battery in Self.batteries {
                let shown = battery.deviceSamples(in: samples)
                let comparison = FaultBattery.compare(shown, with: expected[battery.name] ?? [:])
                report.wrongSamples += comparison.wrong.count
                if !comparison.missing.isEmpty { report.incompleteScrapes += 1 }
                if let example = comparison.wrong.first, report.examples.count < 5 { report.examples.append("\(battery.name): \(example)") }
                if let last = samples[#"bms_last_success_timestamp_seconds{battery="\#(battery.name)"}"#], last >= start {
                    reads[battery.name, default: []].insert(last)
                }
                let failed = samples.keys.filter { $0.hasPrefix(#"bms_poll_failures_total{battery="\#(battery.name)""#) }
                    .reduce(0) { $0 + (samples[$1] ?? 0) }
                if failuresAtStart[battery.name] == nil { failuresAtStart[battery.name] = failed }
                failuresNow[battery.name] = failed
            }
            for adapter in Self.adapters {
                report.mostLinks = max(report.mostLinks, Int(samples[#"bms_adapter_connections{adapter="\#(adapter)"}"#] ?? 0))
            }
            if clock.now >= nextSample, let stats = ProcessStats(pid: server.pid) {
                report.samples.append(ProcessSample(seconds: Date().timeIntervalSince1970 - start, stats: stats))
                nextSample = clock.now + .seconds(max(1, seconds / 30))
            }
            try await Task.sleep(for: .seconds(1))  // a scraper's pace
        }
        let elapsed = Date().timeIntervalSince1970 - start
        let intervals = Int(elapsed / interval.seconds)
        for name in names {
            let accounted = (reads[name]?.count ?? 0) + Int((failuresNow[name] ?? 0) - (failuresAtStart[name] ?? 0))
            report.fewestAccounted = min(report.fewestAccounted, accounted)
            report.failures += Int((failuresNow[name] ?? 0) - (failuresAtStart[name] ?? 0))
        }
        report.intervals = intervals
        for adapter in Self.adapters {
            let stats = try await rig.fake.connectStats(adapter)
            report.connectStats[adapter] = stats
        }
    }
}

enum ScaleError: Error, CustomStringConvertible {
    case neverUp(String)
    var description: String {
        switch self {
        case .neverUp(let log): "not every battery came up within 120 s; log:\n\(log)"
        }
    }
}

struct ScaleReport: Sendable {
    let seconds: Int
    let interval: Duration
    let batteries: Int
    var setupError: String?
    var warmUpSeconds = 0.0
    var scrapes = 0
    var scrapeMilliseconds: [Double] = []
    var scrapeBytes = 0
    var wrongSamples = 0
    var incompleteScrapes = 0
    var examples: [String] = []
    var intervals = 0
    /// The fewest (readings + counted failures) of any battery over the run.
    var fewestAccounted = Int.max
    var failures = 0
    var mostLinks = 0
    var connectStats: [String: [String: Int]] = [:]
    var samples: [ProcessSample] = []
    var exitStatus: Int32?

    var start: ProcessStats { samples.first!.stats }
    var end: ProcessStats { samples.last!.stats }
    var residentGrowthKilobytes: Int { end.residentKilobytes - start.residentKilobytes }
    var slopeKilobytesPerHour: Double {
        leastSquaresSlope(samples.map { ($0.seconds, Double($0.stats.residentKilobytes)) }) * 3600
    }

    func expectHealthy() {
        #expect(setupError == nil, "\(setupError ?? "")")
        #expect(samples.count >= 2, "\(summary)")
        #expect(wrongSamples == 0 && incompleteScrapes == 0, "\(examples)")
        // Each battery read (or counted as failed) in every interval: one fewer for the partial first one.
        #expect(fewestAccounted >= intervals - 1, "\(summary)")
        #expect(mostLinks <= ScaleRun.controllerLinks, "\(summary)")
        for (adapter, stats) in connectStats {
            #expect(stats["max_concurrent_connects"] == 1, "\(adapter): \(stats)")
            #expect(stats["link_limit_rejections"] == 0, "\(adapter): \(stats)")
        }
        #expect(connectStats.count == 2)
        #expect(exitStatus == 0, "exit status \(String(describing: exitStatus))")
        guard samples.count >= 2 else { return }
        #expect(end.fileDescriptors <= start.fileDescriptors + 4, "\(summary)")
        #expect(end.threads <= start.threads + 4, "\(summary)")
    }

    func percentile(_ fraction: Double) -> Double {
        let sorted = scrapeMilliseconds.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
    }

    var summary: String {
        let connects = connectStats.keys.sorted().map { adapter in
            let stats = connectStats[adapter] ?? [:]
            return "\(adapter): \(stats["connects"] ?? 0) connects, at most \(stats["max_concurrent_connects"] ?? 0) at once, "
                + "\(stats["link_limit_rejections"] ?? 0) link-limit refusals"
        }.joined(separator: "; ")
        let rows: [(String, String)] = [
            ("batteries", "\(batteries) over 2 adapters (5 links each), \(DurationText.short(interval)) polls"),
            ("duration (after warm-up)", "\(seconds) s = \(intervals) intervals; warm-up \(String(format: "%.1f", warmUpSeconds)) s"),
            ("fewest readings + counted failures of a battery", "\(fewestAccounted == Int.max ? 0 : fewestAccounted) (failures in all: \(failures))"),
            ("wrong / incomplete samples", "\(wrongSamples) / \(incompleteScrapes) in \(scrapes) scrapes"),
            ("links held at once per adapter (max)", "\(mostLinks)"),
            ("connects (fake)", connects),
            ("/metrics size", "\(scrapeBytes) bytes"),
            ("/metrics latency p50 / p99 / max", String(format: "%.1f / %.1f / %.1f ms", percentile(0.5), percentile(0.99), scrapeMilliseconds.max() ?? 0)),
            ("RSS start → end", samples.isEmpty ? "-" : "\(start.residentKilobytes) KB → \(end.residentKilobytes) KB (slope \(String(format: "%.0f", slopeKilobytesPerHour)) KB/h)"),
            ("fds start → end (max)", samples.isEmpty ? "-" : "\(start.fileDescriptors) → \(end.fileDescriptors) (\(samples.map(\.stats.fileDescriptors).max() ?? 0))"),
            ("threads start → end (max)", samples.isEmpty ? "-" : "\(start.threads) → \(end.threads) (\(samples.map(\.stats.threads).max() ?? 0))"),
        ]
        return measureTable(rows)
    }
}
