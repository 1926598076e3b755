import Foundation

/// Runs one fault on its own rig: baseline, fault held (or fired), cleared, recovery, settle.
struct FaultScenario: Sendable {
    let fault: FaultCase
    let interval: Duration

    /// 2 poll intervals plus the longest backoff with its jitter, plus the connect timeout where
    /// an attempt in flight must reach its own deadline first.
    var bound: Duration {
        let schedule = ExporterSchedule(interval: interval)
        return interval * 2 + schedule.maximumBackoff * 1.2 + (fault.waitsForConnectTimeout ? schedule.connectTimeout : .zero)
    }

    func run() async -> FaultRow {
        var row = FaultRow(fault: fault.label, scope: fault.scope, bound: bound)
        let rig: ExporterRig<FaultBattery>
        do {
            var batteries = FaultBattery.trio
            // FAULT_MATRIX_GATT_CACHE=1 runs every row with the first battery cached.
            batteries[0].gattCache = fault.cachedTarget || ProcessInfo.processInfo.environment["FAULT_MATRIX_GATT_CACHE"] == "1"
            rig = try await ExporterRig<FaultBattery>.start(batteries: batteries, pollInterval: interval)
        } catch {
            row.setupError = "\(error)"
            return row
        }
        let monitor = ScrapeMonitor(rig: rig, pollInterval: interval)
        let scraping = Task { await monitor.run() }
        do {
            try await exercise(rig, monitor, &row)
        } catch {
            row.setupError = "\(error)"
        }
        scraping.cancel()
        await scraping.value
        row.findings = monitor.findings
        await row.noteConnectStats(rig)
        row.writes = rig.fake.writeLog().count
        row.forbiddenWrites = rig.fake.forbiddenWrites()
        row.exitStatus = await rig.stopOffPool()
        row.log = rig.server.log
        return row
    }

    private func exercise(_ rig: ExporterRig<FaultBattery>, _ monitor: ScrapeMonitor, _ row: inout FaultRow) async throws {
        let names = rig.batteries.map(\.name)
        let setupStart = Date().timeIntervalSince1970
        guard await monitor.first(after: setupStart, within: .seconds(30), { o in names.allSatisfy { o.up($0, since: 0) } }) != nil
        else { throw FaultMatrixError.neverUp }
        // A settled baseline: every battery has a reading from after every other came up.
        let baseline = Date().timeIntervalSince1970
        _ = await monitor.first(after: baseline, within: .seconds(10)) { o in names.allSatisfy { o.up($0, since: baseline) } }

        let injected = Date().timeIntervalSince1970
        try await fault.inject(rig)
        let cleared: Double
        switch fault.clearing {
        case .held:
            let holdUntil = ContinuousClock.now + interval * 8
            while ContinuousClock.now < holdUntil {
                let step = min(fault.repeatEvery, ContinuousClock.now.duration(to: holdUntil))
                try await Task.sleep(for: step)  // the fault's holding time, not a wait for an event
                if let during = fault.during, ContinuousClock.now < holdUntil { try await during(rig) }
            }
            // The fake's counters die with it when the fault restarts bluetoothd or the bus: read them first.
            await row.noteConnectStats(rig)
            // Recovery counts from the moment the fault is gone (bluetoothd or the bus back, READY).
            try await fault.clear(rig)
            cleared = Date().timeIntervalSince1970
        case .instant:
            cleared = injected
        }
        // Recovery: the hit batteries up again with a reading taken after the clearing.
        let hit = fault.scope == .one ? [rig.target.name] : names
        let limit = bound + .seconds(10)
        let back = await monitor.first(after: cleared, within: limit) { o in hit.allSatisfy { o.up($0, since: cleared) } }
        // Then everyone up, and a few more polls watched for wrong values.
        let all = await monitor.first(after: cleared, within: limit) { o in names.allSatisfy { o.up($0, since: cleared) } }
        row.recovered = back != nil && all != nil
        let settle = Date().timeIntervalSince1970 + (interval * 3).seconds
        _ = await monitor.first(after: settle, within: .seconds(5)) { _ in true }

        let observations = monitor.observations
        if back != nil {
            // Each hit battery's first reading after the clearing (the exporter's own timestamp).
            let firsts = hit.compactMap { name in
                observations.first { $0.up(name, since: cleared) }?.batteries[name]?.lastSuccess
            }
            row.recovery = .seconds(firsts.max()! - cleared)
        }
        // A held fault disrupts until it is cleared; an instant one until the hit battery is back
        // (at least 3 intervals are watched).
        let disrupted = fault.clearing == .held ? cleared : injected + max((interval * 3).seconds, row.recovery?.seconds ?? 0)
        let window = observations.filter { $0.start >= injected && $0.start <= disrupted }
        let target = rig.target.name
        row.targetDownDuringFault = window.contains { $0.batteries[target]?.up == false }
        if fault.scope == .one {
            row.evaluateOthers(
                rig.batteries.dropFirst().map(\.name), observations: observations, from: injected, to: disrupted,
                maxAge: (interval * 3).seconds)
        }
    }
}

enum FaultMatrixError: Error, CustomStringConvertible {
    case neverUp
    case noPendingConnect
    var description: String {
        switch self {
        case .neverUp: "the batteries never all came up before the fault"
        case .noPendingConnect: "the exporter never had a Connect pending"
        }
    }
}

/// The schedule the exporter derives from its poll interval (Sources/BMSConfig/PollSchedule.swift).
struct ExporterSchedule {
    let interval: Duration
    var maximumBackoff: Duration { min(.seconds(60), interval * 6) }
    var connectTimeout: Duration { min(.seconds(30), max(interval * 3, .seconds(1))) }
}

/// One line of the matrix.
struct FaultRow: Sendable {
    let fault: String
    let scope: FaultCase.Scope
    let bound: Duration
    var setupError: String?
    var findings = ScrapeMonitor.Findings()
    /// nil for shared faults.
    var othersKeptUpdating: Bool?
    var othersDetail = "n/a: shared"
    var targetDownDuringFault = false
    var recovery: Duration?
    var recovered = false
    var writes = 0
    var forbiddenWrites: [String] = []
    var exitStatus: Int32?
    var log = ""
    /// The most `Connect()`s the fake saw outstanding at once on hci0 (issue 15: never more than
    /// one); nil when its counters could not be read.
    var maxConcurrentConnects: Int?

    /// Folds in the fake's connect counters of hci0 as they are now (the fake may be down: then nothing).
    mutating func noteConnectStats(_ rig: ExporterRig<FaultBattery>) async {
        guard let stats = try? await rig.fake.connectStats("hci0"), let most = stats["max_concurrent_connects"] else { return }
        maxConcurrentConnects = max(maxConcurrentConnects ?? 0, most)
    }

    init(fault: String, scope: FaultCase.Scope, bound: Duration) {
        self.fault = fault
        self.scope = scope
        self.bound = bound
    }

    /// Each other battery must get fresh readings throughout the fault: at least two, and never
    /// a gap longer than the maximum age (3 intervals) between them.
    mutating func evaluateOthers(
        _ others: [String], observations: [ScrapeMonitor.Observation], from: Double, to: Double, maxAge: Double
    ) {
        var fewest = Int.max
        var widestGap = 0.0
        for name in others {
            let readings = Set(observations.compactMap { $0.batteries[name]?.lastSuccess }.filter { $0 > from && $0 <= to })
            let times = [from] + readings.sorted() + [to]
            fewest = min(fewest, readings.count)
            widestGap = max(widestGap, zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? 0)
        }
        othersKeptUpdating = fewest >= 2 && widestGap <= maxAge
        othersDetail = String(format: "yes: ≥%d readings, max gap %.2f s", fewest, widestGap)
        if othersKeptUpdating == false { othersDetail = "NO: " + othersDetail.dropFirst(5) }
    }

    static func table(_ rows: [FaultRow], interval: Duration) -> String {
        let header = [
            "fault", "scope", "wrong values (scrapes)", "others kept updating", "hit battery down", "recovery", "bound",
            "connects at once", "ok",
        ]
        let lines = rows.map { row -> [String] in
            let f = row.findings
            let wrong = "\(f.wrongSamples + f.staleScrapes + f.incompleteScrapes) (\(f.scrapes))"
            let recovery = row.recovery.map { DurationText.short($0) } ?? "none"
            let ok = row.setupError == nil && f.wrongSamples + f.staleScrapes + f.incompleteScrapes + f.scrapeErrors == 0
                && row.othersKeptUpdating != false && row.recovered && (row.recovery ?? .seconds(999)) <= row.bound
                && row.forbiddenWrites.isEmpty && row.exitStatus == 0 && (row.maxConcurrentConnects ?? 0) <= 1
            return [
                row.fault, row.scope == .one ? "1 of 3" : "all 3", wrong, row.othersDetail,
                row.targetDownDuringFault ? "yes" : "no (stayed up)", recovery, DurationText.short(row.bound),
                row.maxConcurrentConnects.map(String.init) ?? "?", ok ? "yes" : "NO",
            ]
        }
        let widths = header.indices.map { column in ([header] + lines).map { $0[column].count }.max() ?? 0 }
        func render(_ cells: [String]) -> String {
            "| " + zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        let writes = rows.reduce(0) { $0 + $1.writes }
        let forbidden = rows.reduce(0) { $0 + $1.forbiddenWrites.count }
        // With FAKE_BLUEZ_WRITE_LOG every fake appends to one file, which each row re-reads whole.
        let shared = ProcessInfo.processInfo.environment["FAKE_BLUEZ_WRITE_LOG"] == nil ? "" : " (suite-wide file, summed per row)"
        return ([render(header), render(widths.map { String(repeating: "-", count: $0) })] + lines.map(render)).joined(separator: "\n")
            + "\n\npoll interval \(DurationText.short(interval)); bound = 2 × interval + max backoff × 1.2"
            + " (+ connect timeout for a hung attempt); write log\(shared): \(writes) writes, \(forbidden) not allow-listed\n"
    }
}

enum DurationText {
    static func short(_ duration: Duration) -> String {
        String(format: "%.2f s", duration.seconds)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
