import FakeBlueZSupport
import Foundation
import Testing

/// The reliability suites run one after the other: both load the 2 shared cores.
@Suite(.serialized) enum Reliability {}

extension Reliability {
    /// The fault matrix: each fault of the fake BlueZ against the real `serve` with three batteries,
    /// scraped continuously. For every fault it records (a) whether any exported device sample ever
    /// differed from what the fake BMS serves, (b) whether the other batteries kept getting fresh
    /// readings, (c) how long after the fault cleared the battery was up again with a new reading,
    /// against a bound computed from the poll schedule; and that the write log holds only the four
    /// allowed read requests. Prints the matrix as a table.
    @Suite struct FaultMatrixTests {
        static let pollInterval = Duration.milliseconds(300)
        /// Rigs running at once: each is a dbus-daemon, a Python fake and the exporter, on 2 shared cores.
        static let parallelRigs = 3

        @Test func faultMatrix() async throws {
            let started = ContinuousClock.now
            let rows = await Self.runAll(FaultCase.all, parallel: Self.parallelRigs)
            let table = FaultRow.table(rows, interval: Self.pollInterval)
            print(table)
            print("fault matrix: \(rows.count) faults in \(DurationText.short(ContinuousClock.now - started))")
            if let path = ProcessInfo.processInfo.environment["FAULT_MATRIX_OUT"] {
                try table.write(toFile: path, atomically: true, encoding: .utf8)
            }
            if let directory = ProcessInfo.processInfo.environment["FAULT_MATRIX_LOGS"] {
                for row in rows {
                    try row.log.write(toFile: "\(directory)/\(row.fault.replacingOccurrences(of: " (GATT cache)", with: "_gatt_cache")).log", atomically: true, encoding: .utf8)
                }
            }
            for row in rows {
                #expect(row.setupError == nil, "\(row.fault): \(row.setupError ?? "")")
                #expect(row.findings.wrongSamples == 0, "\(row.fault): wrong values: \(row.findings.examples)")
                #expect(row.findings.staleScrapes == 0, "\(row.fault): stale readings served: \(row.findings.examples)")
                #expect(row.findings.incompleteScrapes == 0, "\(row.fault): incomplete series: \(row.findings.examples)")
                #expect(row.findings.scrapeErrors == 0, "\(row.fault): /metrics failed: \(row.findings.examples)")
                #expect(row.othersKeptUpdating != false, "\(row.fault): \(row.othersDetail)")
                #expect(row.recovered, "\(row.fault): no recovery; exporter log:\n\(row.log.suffix(4000))")
                if let recovery = row.recovery {
                    #expect(recovery <= row.bound, "\(row.fault): recovered in \(recovery), bound \(row.bound)\n\(row.log.suffix(3000))")
                }
                #expect(row.forbiddenWrites.isEmpty, "\(row.fault): forbidden writes \(row.forbiddenWrites)")
                #expect(row.exitStatus == 0, "\(row.fault): exporter exit status \(String(describing: row.exitStatus))")
            }
            // Read-only guarantee across the whole matrix.
            #expect(rows.reduce(0) { $0 + $1.writes } > 0)
            #expect(rows.flatMap(\.forbiddenWrites).isEmpty)
        }

        /// The check behind column (a) is not vacuous: a value the fake serves but the oracle does
        /// not expect is caught within a few polls.
        @Test func monitorCatchesAValueTheFakeDoesNotServe() async throws {
            let rig = try await FaultRig.start(pollInterval: Self.pollInterval)
            defer { rig.stop() }
            let monitor = ScrapeMonitor(rig: rig)
            let scraping = Task { await monitor.run() }
            defer { scraping.cancel() }
            let names = rig.batteries.map(\.name)
            #expect(await monitor.first(after: 0, within: .seconds(30)) { o in names.allSatisfy { o.up($0, since: 0) } } != nil)
            #expect(monitor.findings.wrongSamples == 0, "\(monitor.findings.examples)")
            try await rig.fake.setBMS(rig.batteries[1].address, ["cells_mv": [3301, 3299, 3301, 3304, 3310, 3290, 3300, 3303]])
            let changed = Date().timeIntervalSince1970
            _ = await monitor.first(after: changed, within: .seconds(10)) { _ in monitor.findings.wrongSamples > 0 }
            let findings = monitor.findings
            #expect(findings.wrongSamples > 0)
            #expect(findings.examples.contains { $0.contains(#"bms_cell_voltage_volts{battery="bravo",cell="8"} 3.303"#) },
                    "\(findings.examples)")
        }

        /// Runs every case, at most `parallel` at a time, in the order given.
        static func runAll(_ cases: [FaultCase], parallel: Int) async -> [FaultRow] {
            await withTaskGroup(of: (Int, FaultRow).self) { group in
                var rows = [FaultRow?](repeating: nil, count: cases.count)
                var next = 0
                func launch() {
                    guard next < cases.count else { return }
                    let (index, fault) = (next, cases[next])
                    next += 1
                    group.addTask { (index, await FaultScenario(fault: fault, interval: pollInterval).run()) }
                }
                for _ in 0..<parallel { launch() }
                for await (index, row) in group {
                    rows[index] = row
                    launch()
                }
                return rows.compactMap { $0 }
            }
        }
    }
}

/// One fault: how to start it, how to clear it, and what it hits.
struct FaultCase: Sendable {
    enum Scope: Sendable {
        /// Hits the first battery only; the others must keep updating.
        case one
        /// Hits every battery at once (adapter, bluetoothd, bus); all must recover.
        case shared
    }

    enum Clearing: Sendable {
        /// Held for a while, then cleared by `clear`: recovery counts from the clearing.
        case held
        /// A single event, over when it happened (or cleared by the exporter's own action):
        /// recovery counts from the injection.
        case instant
    }

    let name: String
    let scope: Scope
    let clearing: Clearing
    /// An attempt in flight when the fault clears can only end at its own deadline
    /// (a hung connect, services that never resolve): that deadline adds to the bound.
    let waitsForConnectTimeout: Bool
    let inject: @Sendable (FaultRig) async throws -> Void
    let clear: @Sendable (FaultRig) async throws -> Void
    /// Repeated every `repeatEvery` while the fault is held (e.g. link drops to force reconnects).
    let during: (@Sendable (FaultRig) async throws -> Void)?
    let repeatEvery: Duration
    /// The first battery behaves like BlueZ's default `Cache=always`: GATT objects and notify
    /// sessions survive its disconnects.
    var cachedTarget = false

    init(
        _ name: String, scope: Scope = .one, clearing: Clearing = .held, waitsForConnectTimeout: Bool = false,
        inject: @escaping @Sendable (FaultRig) async throws -> Void,
        clear: @escaping @Sendable (FaultRig) async throws -> Void = { _ in },
        during: (@Sendable (FaultRig) async throws -> Void)? = nil, repeatEvery: Duration = .milliseconds(700)
    ) {
        self.name = name
        self.scope = scope
        self.clearing = clearing
        self.waitsForConnectTimeout = waitsForConnectTimeout
        self.inject = inject
        self.clear = clear
        self.during = during
        self.repeatEvery = repeatEvery
    }

    /// A fault of the fake's `SetFaults` on the first battery, optionally dropping the link so
    /// the fault meets a reconnect, cleared by setting it false.
    static func bms(_ fault: String, _ value: Any = true, reconnect: Bool = false, waitsForConnectTimeout: Bool = false,
                    clearing: Clearing = .held, repeatDrop: Bool = false) -> FaultCase {
        let valueText = FaultValue(value)
        let inject: @Sendable (FaultRig) async throws -> Void = { rig in
            try await rig.fake.setFaults(rig.target.address, [fault: valueText.json])
            if reconnect { try await rig.fake.dropLink(rig.target.address) }
        }
        let clear: @Sendable (FaultRig) async throws -> Void = { rig in
            try await rig.fake.setFaults(rig.target.address, [fault: false])
        }
        let drop: @Sendable (FaultRig) async throws -> Void = { rig in try await rig.fake.dropLink(rig.target.address) }
        return FaultCase(
            fault, clearing: clearing, waitsForConnectTimeout: waitsForConnectTimeout, inject: inject, clear: clear,
            during: repeatDrop ? drop : nil)
    }

    static let all: [FaultCase] = [
        .bms("connect_abort", reconnect: true),
        .bms("connect_hang", reconnect: true, waitsForConnectTimeout: true),
        .bms("stale_pending_connect", reconnect: true, clearing: .instant),
        .bms("services_never_resolve", reconnect: true, waitsForConnectTimeout: true),
        .bms("silent"),
        .bms("drop_first_reply", reconnect: true, repeatDrop: true),
        .bms("corrupt_checksum"),
        // A false start (DD, a register, a length running past the real frame) and plain junk.
        .bms("garbage_prefix", "dd03771a00ff0102fe77aa55"),
        // An unsolicited frame for a register never asked for, and a corrupt 0x04 frame carrying
        // other cell voltages: neither may reach the metrics.
        .bms("stray_frames", ["dd0700020102fffb77", "dd04000804d204d204d204d2fc0077"]),
        .bms("random_chunks", reconnect: true, repeatDrop: true),
        .bms("drop_link_mid_frame"),
        FaultCase("device_removed", clearing: .instant, inject: { rig in
            try await rig.fake.removeDeviceObject(rig.target.address)
        }),
        FaultCase("adapter_off", scope: .shared, inject: { rig in
            try await rig.fake.setAdapterPowered("hci0", false)
        }, clear: { rig in
            try await rig.fake.setAdapterPowered("hci0", true)
        }),
        FaultCase("bluetoothd_killed", scope: .shared, inject: { rig in
            await rig.fake.killBlueZ()
        }, clear: { rig in
            try await rig.fake.startBlueZ()
        }),
        FaultCase("dbus_daemon_restart", scope: .shared, inject: { rig in
            await rig.fake.stopBus()
        }, clear: { rig in
            try await rig.fake.startBus()
        }),
        // With BlueZ's default GATT cache the link-loss paths differ (objects stay, notify sessions
        // are re-registered, calls on cached objects fail "Not connected").
        .bms("drop_link_mid_frame").cached(),
        FaultCase("device_removed", clearing: .instant, inject: { rig in
            try await rig.fake.removeDeviceObject(rig.target.address)
        }).cached(),
        FaultCase("bluetoothd_killed", scope: .shared, inject: { rig in
            await rig.fake.killBlueZ()
        }, clear: { rig in
            try await rig.fake.startBlueZ()
        }).cached(),
        // Compound: the event lands while a Connect of the first battery hangs in BlueZ.
        .midConnect("device_removed_mid_connect") { rig in try await rig.fake.removeDeviceObject(rig.target.address) },
        .midConnect("bluetoothd_killed_mid_connect", scope: .shared) { rig in
            await rig.fake.killBlueZ()
            try await rig.fake.startBlueZ()
        },
        .midConnect("dbus_daemon_restart_mid_connect", scope: .shared) { rig in
            await rig.fake.stopBus()
            try await rig.fake.startBus()
        },
    ]

    /// The same fault with the first battery's GATT cache on.
    func cached() -> FaultCase {
        var copy = self
        copy.cachedTarget = true
        return copy
    }

    /// The row's name in the table.
    var label: String { cachedTarget ? "\(name) (GATT cache)" : name }

    /// Makes the first battery's connects hang and drops its link; once the exporter's Connect is
    /// pending, lifts the fault (the pending call stays hung) and fires `event`.
    static func midConnect(
        _ name: String, scope: Scope = .one, _ event: @escaping @Sendable (FaultRig) async throws -> Void
    ) -> FaultCase {
        FaultCase(name, scope: scope, inject: { rig in
            try await rig.fake.setFaults(rig.target.address, ["connect_hang": true])
            try await rig.fake.dropLink(rig.target.address)
        }, clear: { rig in
            try await rig.waitForPendingConnect(rig.target.address)
            try await rig.fake.setFaults(rig.target.address, ["connect_hang": false])
            try await event(rig)
        })
    }
}

/// A JSON value for a fault, carried across tasks.
struct FaultValue: @unchecked Sendable {
    let json: Any
    init(_ json: Any) { self.json = json }
}

extension FaultRig {
    /// The battery single-battery faults hit.
    var target: FaultBattery { batteries[0] }
}

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
        let rig: FaultRig
        do {
            var batteries = FaultBattery.trio
            // FAULT_MATRIX_GATT_CACHE=1 runs every row with the first battery cached.
            batteries[0].gattCache = fault.cachedTarget || ProcessInfo.processInfo.environment["FAULT_MATRIX_GATT_CACHE"] == "1"
            rig = try await FaultRig.start(batteries: batteries, pollInterval: interval)
        } catch {
            row.setupError = "\(error)"
            return row
        }
        let monitor = ScrapeMonitor(rig: rig)
        let scraping = Task { await monitor.run() }
        do {
            try await exercise(rig, monitor, &row)
        } catch {
            row.setupError = "\(error)"
        }
        scraping.cancel()
        await scraping.value
        row.findings = monitor.findings
        row.writes = rig.fake.writeLog().count
        row.forbiddenWrites = rig.fake.forbiddenWrites()
        row.exitStatus = await rig.stopOffPool()
        row.log = rig.server.log
        return row
    }

    private func exercise(_ rig: FaultRig, _ monitor: ScrapeMonitor, _ row: inout FaultRow) async throws {
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
        let header = ["fault", "scope", "wrong values (scrapes)", "others kept updating", "hit battery down", "recovery", "bound", "ok"]
        let lines = rows.map { row -> [String] in
            let f = row.findings
            let wrong = "\(f.wrongSamples + f.staleScrapes + f.incompleteScrapes) (\(f.scrapes))"
            let recovery = row.recovery.map { DurationText.short($0) } ?? "none"
            let ok = row.setupError == nil && f.wrongSamples + f.staleScrapes + f.incompleteScrapes + f.scrapeErrors == 0
                && row.othersKeptUpdating != false && row.recovered && (row.recovery ?? .seconds(999)) <= row.bound
                && row.forbiddenWrites.isEmpty && row.exitStatus == 0
            return [
                row.fault, row.scope == .one ? "1 of 3" : "all 3", wrong, row.othersDetail,
                row.targetDownDuringFault ? "yes" : "no (stayed up)", recovery, DurationText.short(row.bound),
                ok ? "yes" : "NO",
            ]
        }
        let widths = header.indices.map { column in ([header] + lines).map { $0[column].count }.max() ?? 0 }
        func render(_ cells: [String]) -> String {
            "| " + zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        let writes = rows.reduce(0) { $0 + $1.writes }
        let forbidden = rows.reduce(0) { $0 + $1.forbiddenWrites.count }
        return ([render(header), render(widths.map { String(repeating: "-", count: $0) })] + lines.map(render)).joined(separator: "\n")
            + "\n\npoll interval \(DurationText.short(interval)); bound = 2 × interval + max backoff × 1.2"
            + " (+ connect timeout for a hung attempt); write log: \(writes) writes, \(forbidden) not allow-listed\n"
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
