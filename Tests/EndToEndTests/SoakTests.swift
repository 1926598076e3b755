import TestSupport
import Foundation
import Testing

extension Reliability {
    /// The real exporter polling three batteries every 50 ms for thousands of polls while faults
    /// are injected at random (seeded); its resident memory, descriptors and threads must stay flat.
    /// The short run is part of the default tests; `scripts/soak` runs the long one
    /// (`BMS_SOAK_POLLS`, e.g. 12000).
    @Suite struct SoakTests {
        @Test func shortSoakStaysFlat() async throws {
            let report = try await Soak(polls: 1_000, seed: 7, samplePeriod: .seconds(1)).run()
            print(report.summary)
            report.expectHealthy()
            // Generous: a short run measures noise as much as growth.
            #expect(report.residentGrowthKilobytes < 16_000, "\(report.summary)")
            #expect(report.end.fileDescriptors <= report.start.fileDescriptors + 4, "\(report.summary)")
            #expect(report.end.threads <= report.start.threads + 4, "\(report.summary)")
        }

        @Test(.enabled(if: Soak.requestedPolls != nil, "set BMS_SOAK_POLLS (scripts/soak)"))
        func longSoak() async throws {
            let polls = Soak.requestedPolls ?? 12_000
            let seed = UInt64(ProcessInfo.processInfo.environment["BMS_SOAK_SEED"] ?? "") ?? 20_251_126
            let report = try await Soak(polls: polls, seed: seed, samplePeriod: .seconds(3)).run()
            print(report.summary)
            if let path = ProcessInfo.processInfo.environment["BMS_SOAK_OUT"] {
                try report.summary.write(toFile: path, atomically: true, encoding: .utf8)
            }
            report.expectHealthy()
            #expect(report.slopeKilobytesPer1000Polls < 50, "\(report.summary)")
            #expect(report.end.fileDescriptors <= report.start.fileDescriptors + 2, "\(report.summary)")
            #expect(report.end.threads <= report.start.threads + 2, "\(report.summary)")
        }
    }
}

/// One soak run: rig, random faults, /proc samples, a line through resident memory over polls.
struct Soak: Sendable {
    static var requestedPolls: Int? { ProcessInfo.processInfo.environment["BMS_SOAK_POLLS"].flatMap { Int($0) } }

    /// The fault-matrix trio at addresses of their own, so their writes can be told apart in a shared log.
    static let batteries: [FaultBattery] = FaultBattery.trio.enumerated().map { index, battery in
        var battery = battery
        battery.address = "A4:C1:38:5A:00:0\(index + 1)"
        return battery
    }
    /// The fake at full speed; discovery reports and the give-up on an out-of-range device come
    /// faster still, so the soak's injected outages stay short.
    static let zeroDelays = FakeBlueZ.zeroDelays.merging(["rssi_interval_ms": 20, "absent_connect_timeout_ms": 100]) { $1 }
    static let basicInfoRequest = "dda50300fffd77"

    let polls: Int
    let seed: UInt64
    let samplePeriod: Duration
    var interval = Duration.milliseconds(50)
    /// A random fault roughly this often.
    var faultPeriod = Duration.milliseconds(800)

    func run() async throws -> SoakReport {
        let rig = try await ExporterRig<FaultBattery>.start(batteries: Self.batteries, pollInterval: interval, delays: Self.zeroDelays)
        do {
            return try await run(rig)
        } catch {
            _ = await rig.stopOffPool()
            throw error
        }
    }

    private func run(_ rig: ExporterRig<FaultBattery>) async throws -> SoakReport {
        let monitor = ScrapeMonitor(rig: rig, pollInterval: interval, period: .milliseconds(250))
        let scraping = Task { await monitor.run() }
        defer { scraping.cancel() }
        let names = rig.batteries.map(\.name)
        let began = Date().timeIntervalSince1970
        guard await monitor.first(after: began, within: .seconds(30), { o in names.allSatisfy { o.up($0, since: 0) } }) != nil
        else { throw FaultMatrixError.neverUp }
        let counter = WriteLogCounter(path: rig.fake.writeLogPath, addresses: Set(rig.batteries.map(\.address)))
        let basePolls = counter.update()[Self.basicInfoRequest] ?? 0
        var injector = FaultInjector(seed: seed, batteries: rig.batteries.map(\.address))
        var samples: [ProcessSample] = []
        let clock = ContinuousClock()
        let started = clock.now
        // At ~20 polls/s per battery the target takes polls / 60 s; allow 4× that for a slow machine.
        let deadline = started + .seconds(max(60, polls / 15))
        var nextSample = started
        var nextFault = started + faultPeriod
        var polled = 0
        while polled < polls, clock.now < deadline {
            if clock.now >= nextSample {
                polled = (counter.update()[Self.basicInfoRequest] ?? 0) - basePolls
                guard let stats = ProcessStats(pid: rig.pid) else { break }
                samples.append(ProcessSample(seconds: (clock.now - started).seconds, polls: polled, stats: stats))
                nextSample = nextSample + samplePeriod
            }
            if clock.now >= nextFault {
                try await injector.step(rig)
                nextFault = clock.now + faultPeriod
            }
            try await Task.sleep(until: min(nextSample, nextFault), clock: clock)  // the soak's pace
        }
        try await injector.clearAll(rig)
        let settled = Date().timeIntervalSince1970
        let recovered = await monitor.first(after: settled, within: .seconds(20)) { o in names.allSatisfy { o.up($0, since: settled) } } != nil
        polled = (counter.update()[Self.basicInfoRequest] ?? 0) - basePolls
        if let stats = ProcessStats(pid: rig.pid) {
            samples.append(ProcessSample(seconds: (clock.now - started).seconds, polls: polled, stats: stats))
        }
        scraping.cancel()
        await scraping.value
        let report = SoakReport(
            targetPolls: polls, seed: seed, interval: interval, samples: samples, faults: injector.injected,
            findings: monitor.findings, recovered: recovered, forbiddenWrites: rig.fake.forbiddenWrites(),
            exitStatus: await rig.stopOffPool(), log: rig.server.log)
        return report
    }
}

/// Picks a fault at random (seeded) for a random battery; faults that are not self-limiting are
/// undone at the next step.
struct FaultInjector {
    private var random: SeededRandom
    private let batteries: [String]
    private var undo: [@Sendable (ExporterRig<FaultBattery>) async throws -> Void] = []
    private(set) var injected: [String: Int] = [:]

    init(seed: UInt64, batteries: [String]) {
        random = SeededRandom(seed: seed)
        self.batteries = batteries
    }

    /// The kinds, with weights: mostly link and frame trouble, now and then a whole-stack outage.
    private static let kinds: [(name: String, weight: Int)] = [
        ("corrupt_checksum", 6), ("silent", 6), ("drop_first_reply", 5), ("connect_abort", 5), ("connect_hang", 2),
        ("stale_pending_connect", 3), ("services_never_resolve", 2), ("drop_link_mid_frame", 5), ("drop_link", 5),
        ("device_removed", 3), ("garbage_prefix", 4), ("stray_frames", 4), ("random_chunks", 4),
        ("adapter_off", 1), ("bluetoothd_killed", 1), ("dbus_daemon_restart", 1),
    ]

    mutating func step(_ rig: ExporterRig<FaultBattery>) async throws {
        try await clearAll(rig)
        let total = Self.kinds.reduce(0) { $0 + $1.weight }
        var pick = Int.random(in: 0..<total, using: &random)
        let kind = Self.kinds.first { pick -= $0.weight; return pick < 0 }!.name
        let address = batteries[Int.random(in: 0..<batteries.count, using: &random)]
        let fake = rig.fake
        injected[kind, default: 0] += 1
        switch kind {
        case "corrupt_checksum", "silent", "drop_link_mid_frame":
            try await fake.setFaults(address, [kind: Int.random(in: 1...3, using: &random)])
        case "drop_first_reply", "connect_abort", "connect_hang", "services_never_resolve":
            try await fake.setFaults(address, [kind: 1])
            try await fake.dropLink(address)
        case "stale_pending_connect":
            try await fake.setFaults(address, [kind: true])
            try await fake.dropLink(address)
            undo.append { rig in try await rig.fake.setFaults(address, [kind: false]) }
        case "drop_link":
            try await fake.dropLink(address)
        case "device_removed":
            try await fake.removeDeviceObject(address)
        case "garbage_prefix", "stray_frames", "random_chunks":
            let value: FaultValue = switch kind {
            case "garbage_prefix": FaultValue("dd03771a00ff0102fe77aa55")
            case "stray_frames": FaultValue(["dd0700020102fffb77", "dd04000804d204d204d204d2fc0077"])
            default: FaultValue(true)
            }
            try await fake.setFaults(address, [kind: value.json])
            undo.append { rig in try await rig.fake.setFaults(address, [kind: false]) }
        case "adapter_off":
            try await fake.setAdapterPowered("hci0", false)
            undo.append { rig in try await rig.fake.setAdapterPowered("hci0", true) }
        case "bluetoothd_killed":
            await fake.killBlueZ()
            undo.append { rig in try await rig.fake.startBlueZ() }
        default:
            await fake.stopBus()
            undo.append { rig in try await rig.fake.startBus() }
        }
    }

    /// Undoes whatever the last step left in place.
    mutating func clearAll(_ rig: ExporterRig<FaultBattery>) async throws {
        for action in undo { try await action(rig) }
        undo = []
    }
}

struct SoakReport: Sendable {
    let targetPolls: Int
    let seed: UInt64
    let interval: Duration
    let samples: [ProcessSample]
    let faults: [String: Int]
    let findings: ScrapeMonitor.Findings
    let recovered: Bool
    let forbiddenWrites: [String]
    let exitStatus: Int32?
    let log: String

    /// Samples after the warm-up (the first 10 % of the polls: caches, arenas, first connects).
    var steady: [ProcessSample] {
        let after = samples.filter { $0.polls >= max(1, samples.last?.polls ?? 0) / 10 }
        return after.count >= 2 ? after : samples
    }

    var start: ProcessStats { steady.first!.stats }
    var end: ProcessStats { steady.last!.stats }
    var polls: Int { samples.last?.polls ?? 0 }
    var residentGrowthKilobytes: Int { end.residentKilobytes - start.residentKilobytes }
    var slopeKilobytesPer1000Polls: Double {
        leastSquaresSlope(steady.map { (Double($0.polls), Double($0.stats.residentKilobytes)) }) * 1000
    }

    func expectHealthy() {
        #expect(samples.count >= 3, "too few samples: \(summary)")
        #expect(polls >= targetPolls, "only \(polls) polls: \(summary)")
        #expect(findings.wrongSamples == 0 && findings.staleScrapes == 0 && findings.incompleteScrapes == 0,
                "\(findings.examples)")
        #expect(findings.scrapeErrors == 0, "\(findings.examples)")
        #expect(recovered, "not every battery recovered after the last fault\n\(log.suffix(3000))")
        #expect(forbiddenWrites.isEmpty, "\(forbiddenWrites)")
        #expect(exitStatus == 0, "exit status \(String(describing: exitStatus))")
    }

    var summary: String {
        let duration = samples.last?.seconds ?? 0
        let residents = steady.map(\.stats.residentKilobytes)
        let rows: [(String, String)] = [
            ("polls (0x03 requests)", "\(polls) (target \(targetPolls)), \(String(format: "%.0f", Double(polls) / max(duration, 1)))/s"),
            ("duration", String(format: "%.0f s at %@ interval, 3 batteries", duration, DurationText.short(interval))),
            ("faults injected (seed \(seed))", "\(faults.values.reduce(0, +)): " + faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")),
            ("samples (after warm-up)", "\(samples.count) (\(steady.count))"),
            ("RSS start → end (max)", "\(start.residentKilobytes) KB → \(end.residentKilobytes) KB (\(residents.max() ?? 0) KB)"),
            ("RSS slope", String(format: "%.1f KB per 1,000 polls", slopeKilobytesPer1000Polls)),
            ("fds start → end (max)", "\(start.fileDescriptors) → \(end.fileDescriptors) (\(steady.map(\.stats.fileDescriptors).max() ?? 0))"),
            ("threads start → end (max)", "\(start.threads) → \(end.threads) (\(steady.map(\.stats.threads).max() ?? 0))"),
            ("wrong / stale / incomplete scrapes", "\(findings.wrongSamples) / \(findings.staleScrapes) / \(findings.incompleteScrapes) of \(findings.scrapes)"),
            ("recovered after last fault", recovered ? "yes" : "NO"),
            ("forbidden writes", "\(forbiddenWrites.count)"),
        ]
        return measureTable(rows)
    }
}
