import TestSupport
import Foundation
import Testing

extension Reliability {
    /// SIGTERM while a fault is in force: the exporter exits 0, promptly, and leaves no link up and
    /// no Connect pending (the BMS accepts one client only, so a leftover blocks the phone app).
    @Suite struct FaultShutdownTests {
        /// Longest acceptable time from SIGTERM to exit: the disconnects have 3 s deadlines.
        static let exitBound = Duration.seconds(5)
        /// The rigs' poll interval (the fault rig's default).
        static let pollInterval = Duration.milliseconds(300)

        struct Case: Sendable {
            let name: String
            /// Whether the fake is still there afterwards to be asked about links.
            var fakeSurvives = true
            let inject: @Sendable (ExporterRig<FaultBattery>) async throws -> Void
        }

        static let cases: [Case] = [
            Case(name: "connect_hang (Connect pending)") { rig in
                try await rig.fake.setFaults(rig.target.address, ["connect_hang": true])
                try await rig.fake.dropLink(rig.target.address)
                try await rig.waitForPendingConnect(rig.target.address)
            },
            Case(name: "services_never_resolve") { rig in
                try await rig.fake.setFaults(rig.target.address, ["services_never_resolve": true])
                try await rig.fake.dropLink(rig.target.address)
                try await rig.waitForConnectCount(rig.target.address, above: 1)
            },
            Case(name: "silent (request in flight)") { rig in
                try await rig.fake.setFaults(rig.target.address, ["silent": true])
            },
            Case(name: "adapter_off") { rig in try await rig.fake.setAdapterPowered("hci0", false) },
            Case(name: "bluetoothd_killed", fakeSurvives: false) { rig in await rig.fake.killBlueZ() },
            Case(name: "dbus_daemon_gone", fakeSurvives: false) { rig in await rig.fake.stopBus() },
        ]

        @Test func sigtermDuringFaultsExitsCleanly() async throws {
            let results = await withTaskGroup(of: (Int, String).self) { group in
                var lines = [String](repeating: "", count: Self.cases.count)
                var next = 0
                func launch() {
                    guard next < Self.cases.count else { return }
                    let index = next
                    next += 1
                    group.addTask { (index, await Self.run(Self.cases[index])) }
                }
                for _ in 0..<3 { launch() }
                for await (index, line) in group {
                    lines[index] = line
                    launch()
                }
                return lines
            }
            print("| SIGTERM during | exit status | exit took | links left up / connects pending |\n|---|---|---|---|")
            for line in results { print(line) }
            for line in results { #expect(!line.contains("FAIL"), "\(line)") }
        }

        /// The exporter killed outright (OOM, crash) while connected, and started again as systemd
        /// would: the batteries are still connected in BlueZ, and the new process must take them over.
        @Test func exporterKilledAndRestartedTakesOverConnectedBatteries() async throws {
            let rig = try await ExporterRig<FaultBattery>.start(pollInterval: Self.pollInterval)
            defer { rig.stop() }
            let first = ScrapeMonitor(rig: rig, pollInterval: Self.pollInterval)
            let scraping = Task { await first.run() }
            let names = rig.batteries.map(\.name)
            #expect(await first.first(after: 0, within: .seconds(30)) { o in names.allSatisfy { o.up($0, since: 0) } } != nil)
            scraping.cancel()
            await scraping.value
            kill(rig.pid, SIGKILL)
            rig.server.stop()
            for battery in rig.batteries {
                #expect(try await rig.fake.state(battery.address)["connected"] as? Bool == true, "\(battery.name)")
            }
            let restarted = Date().timeIntervalSince1970
            let second = try await rig.serve(["--config.file", rig.configPath])
            defer { second.stop() }
            let samples = parseExposition(try await second.scrape(until: { body in
                let s = parseExposition(body)
                return names.allSatisfy { (s[#"bms_last_success_timestamp_seconds{battery="\#($0)"}"#] ?? 0) >= restarted }
            }, timeout: 20))
            for battery in rig.batteries {
                let shown = battery.deviceSamples(in: samples)
                #expect(FaultBattery.compare(shown, with: battery.expectedSamples) == ([], []), "\(battery.name)")
                #expect(samples[#"bms_up{battery="\#(battery.name)"}"#] == 1, "\(battery.name): \(second.log)")
            }
            #expect(second.stop() == 0)
            #expect(rig.fake.forbiddenWrites().isEmpty)
        }

        /// One case on its own rig; returns its table row ("FAIL" marks a broken expectation).
        static func run(_ test: Case) async -> String {
            let rig: ExporterRig<FaultBattery>
            do { rig = try await ExporterRig<FaultBattery>.start(pollInterval: Self.pollInterval) } catch { return "| \(test.name) | FAIL: setup \(error) | | |" }
            defer { rig.stop() }
            let monitor = ScrapeMonitor(rig: rig, pollInterval: Self.pollInterval)
            let scraping = Task { await monitor.run() }
            let names = rig.batteries.map(\.name)
            let up = await monitor.first(after: 0, within: .seconds(30)) { o in names.allSatisfy { o.up($0, since: 0) } }
            scraping.cancel()
            guard up != nil else { return "| \(test.name) | FAIL: never up | | |" }
            do { try await test.inject(rig) } catch { return "| \(test.name) | FAIL: inject \(error) | | |" }
            let (status, took) = await rig.terminateExporter()
            var leftovers = "n/a (fake gone)"
            var ok = status == 0 && took <= exitBound
            if test.fakeSurvives {
                var left: [String] = []
                for battery in rig.batteries {
                    guard let state = try? await rig.fake.state(battery.address) else {
                        left.append("\(battery.name): no state")
                        continue
                    }
                    if state["connected"] as? Bool == true { left.append("\(battery.name) connected") }
                    if state["connect_pending"] as? Bool == true { left.append("\(battery.name) pending") }
                }
                leftovers = left.isEmpty ? "none" : left.joined(separator: ", ")
                ok = ok && left.isEmpty
            }
            let statusText = status.map(String.init) ?? "killed"
            return "| \(test.name) | \(statusText) | \(DurationText.short(took)) | \(leftovers)\(ok ? "" : " FAIL") |"
        }
    }
}

extension ExporterRig where Battery == FaultBattery {
    /// Waits (bounded) until the fake counts more than `count` links that came up for `address`.
    func waitForConnectCount(_ address: String, above count: Int, within limit: Duration = .seconds(5)) async throws {
        guard try await fakeState(address, within: limit, until: { $0["connect_count"] as? Int ?? 0 > count }).held else {
            throw FaultMatrixError.noPendingConnect
        }
    }
}
