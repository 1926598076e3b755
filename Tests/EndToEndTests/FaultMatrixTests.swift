import TestSupport
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
                // Issue 15: one outstanding Connect per adapter, whatever the fault.
                #expect(row.maxConcurrentConnects != nil, "\(row.fault): the fake's connect counters were never read")
                #expect((row.maxConcurrentConnects ?? 0) <= 1, "\(row.fault): \(row.maxConcurrentConnects ?? 0) connects at once")
            }
            // Read-only guarantee across the whole matrix.
            #expect(rows.reduce(0) { $0 + $1.writes } > 0)
            #expect(rows.flatMap(\.forbiddenWrites).isEmpty)
        }

        /// The check behind column (a) is not vacuous: a value the fake serves but the oracle does
        /// not expect is caught within a few polls.
        @Test func monitorCatchesAValueTheFakeDoesNotServe() async throws {
            let rig = try await ExporterRig<FaultBattery>.start(pollInterval: Self.pollInterval)
            defer { rig.stop() }
            let monitor = ScrapeMonitor(rig: rig, pollInterval: Self.pollInterval)
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
