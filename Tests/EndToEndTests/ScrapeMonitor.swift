import TestSupport
import Foundation
import Synchronization

extension ExporterRig where Battery == FaultBattery {
    /// The fault suites' rig: `batteries` (the trio unless told) polled every `pollInterval`,
    /// the fake with `delays`, `serve` logging at `logLevel`.
    static func start(
        batteries: [FaultBattery] = FaultBattery.trio, pollInterval: Duration = .milliseconds(300),
        delays: [String: Int] = FakeBlueZ.fastDelays, logLevel: String = "info"
    ) async throws -> ExporterRig {
        let config = FaultBattery.config(batteries, pollInterval: "\(Int(pollInterval.seconds * 1000))ms")
        return try await start(batteries, config: config, arguments: ["--log.level", logLevel], delays: delays)
    }
}

/// Scrapes `/metrics` continuously and checks every device sample of every battery, every time,
/// against what that battery's fake BMS serves.
final class ScrapeMonitor: Sendable {
    /// One battery in one scrape.
    struct BatteryView: Sendable {
        let up: Bool
        let lastSuccess: Double?
        /// Device samples were shown (a fresh reading).
        let served: Bool
    }

    /// One scrape: when it started (Unix seconds) and what it showed.
    struct Observation: Sendable {
        let index: Int
        let start: Double
        let batteries: [String: BatteryView]

        func up(_ name: String, since time: Double) -> Bool {
            guard let view = batteries[name], view.up, let last = view.lastSuccess else { return false }
            return last >= time
        }
    }

    /// What the checks found over the whole run.
    struct Findings: Sendable {
        var scrapes = 0
        var scrapeErrors = 0
        /// A device sample with a value the fake does not serve, or a series it does not serve.
        var wrongSamples = 0
        /// A served reading older than the maximum age at the time of the scrape.
        var staleScrapes = 0
        /// Some device series present and others absent in one scrape of one battery.
        var incompleteScrapes = 0
        var examples: [String] = []

        mutating func note(_ text: String) {
            if examples.count < 8 { examples.append(text) }
        }
    }

    private struct State {
        var observations: [Observation] = []
        var findings = Findings()
    }

    private let server: ServerProcess
    private let batteries: [FaultBattery]
    private let expected: [String: [String: Double]]
    private let maxAgeSeconds: Double
    private let period: Duration
    private let state = Mutex(State())

    /// Checks `rig`'s batteries; a reading older than three `pollInterval`s counts as stale.
    init(rig: ExporterRig<FaultBattery>, pollInterval: Duration, period: Duration = .milliseconds(50)) {
        server = rig.server
        batteries = rig.batteries
        expected = Dictionary(uniqueKeysWithValues: rig.batteries.map { ($0.name, $0.expectedSamples) })
        maxAgeSeconds = (pollInterval * 3).seconds
        self.period = period
    }

    var findings: Findings { state.withLock { $0.findings } }
    var observations: [Observation] { state.withLock { $0.observations } }

    /// Scrapes every `period` until the task is cancelled (the pace of a scraper, not a wait for an event).
    func run() async {
        while !Task.isCancelled {
            await scrapeOnce()
            try? await Task.sleep(for: period)
        }
    }

    private func scrapeOnce() async {
        let start = Date().timeIntervalSince1970
        let body: String
        do {
            body = try await server.request("/metrics").body
        } catch {
            state.withLock {
                $0.findings.scrapes += 1
                $0.findings.scrapeErrors += 1
                $0.findings.note("scrape failed: \(error)")
            }
            return
        }
        let samples = parseExposition(body)
        var views: [String: BatteryView] = [:]
        var notes: [String] = []
        var (wrong, stale, incomplete) = (0, 0, 0)
        for battery in batteries {
            let label = #"{battery="\#(battery.name)"}"#
            let shown = battery.deviceSamples(in: samples)
            let lastSuccess = samples["bms_last_success_timestamp_seconds\(label)"]
            let comparison = FaultBattery.compare(shown, with: expected[battery.name] ?? [:])
            if !comparison.wrong.isEmpty {
                wrong += comparison.wrong.count
                notes.append("\(battery.name): wrong \(comparison.wrong.prefix(3).joined(separator: "; "))")
            }
            if !comparison.missing.isEmpty {
                incomplete += 1
                notes.append("\(battery.name): missing \(comparison.missing.prefix(3).joined(separator: "; "))")
            }
            if !shown.isEmpty, start - (lastSuccess ?? 0) > maxAgeSeconds + 0.05 {
                stale += 1
                notes.append("\(battery.name): served a reading \(start - (lastSuccess ?? 0)) s old")
            }
            views[battery.name] = BatteryView(
                up: samples["bms_up\(label)"] == 1, lastSuccess: lastSuccess, served: !shown.isEmpty)
        }
        state.withLock { state in
            state.findings.scrapes += 1
            state.findings.wrongSamples += wrong
            state.findings.staleScrapes += stale
            state.findings.incompleteScrapes += incomplete
            for note in notes { state.findings.note(note) }
            state.observations.append(Observation(index: state.observations.count, start: start, batteries: views))
        }
    }

    /// Waits (bounded) for a scrape that started at or after `since` and satisfies `condition`.
    func first(
        after since: Double, within timeout: Duration, _ condition: (Observation) -> Bool
    ) async -> Observation? {
        let deadline = ContinuousClock.now + timeout
        var checked = 0
        while true {
            let fresh = state.withLock { Array($0.observations.dropFirst(checked)) }
            checked += fresh.count
            if let hit = fresh.first(where: { $0.start >= since && condition($0) }) { return hit }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
