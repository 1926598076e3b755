import TestSupport
import Foundation

/// A fake BlueZ with several batteries on one or more adapters, and the exporter serving them
/// from a config file that pins each battery to its adapter (issue 15).
final class AdapterRig: Sendable {
    struct Battery: Sendable {
        let name: String
        let address: String
        let adapter: String
        var keepConnected = true
        /// Out of range: discovery never sees it, and a connect aborts.
        var inRange = true
    }

    let fake: FakeBlueZ
    let server: ServerProcess
    let batteries: [Battery]
    private let directory: URL

    private init(fake: FakeBlueZ, server: ServerProcess, batteries: [Battery], directory: URL) {
        self.fake = fake
        self.server = server
        self.batteries = batteries
        self.directory = directory
    }

    /// `count` batteries per adapter, named `<adapter>-<n>`, at addresses of their own.
    static func batteries(_ count: Int, on adapters: [String], keepConnected: Bool = true) -> [Battery] {
        adapters.enumerated().flatMap { adapterIndex, adapter in
            (1...count).map { index in
                Battery(
                    name: "\(adapter)-\(index)", address: String(format: "A4:C1:38:15:%02X:%02X", adapterIndex, index),
                    adapter: adapter, keepConnected: keepConnected)
            }
        }
    }

    /// Starts the fake (hci0 plus `adapters`' others, each with `adapterSettings`), adds the
    /// batteries, and starts `serve` with `arguments`.
    static func start(
        _ batteries: [Battery], adapterSettings: [String: Any] = [:], pollInterval: String = "300ms",
        delays: [String: Int] = FakeBlueZ.fastDelays, arguments: [String] = [], configHead: String = ""
    ) async throws -> AdapterRig {
        let fake = try await FakeBlueZ.start(delays: delays)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bms-adapters-\(UUID().uuidString)")
        do {
            let adapters = Set(batteries.map(\.adapter)).sorted()
            for adapter in adapters where adapter != "hci0" { try await fake.addAdapter(adapter, adapterSettings) }
            if !adapterSettings.isEmpty { try await fake.setAdapter("hci0", adapterSettings) }
            for battery in batteries {
                try await fake.addBattery([
                    "address": battery.address, "name": "\(battery.name) BMS", "adapter": battery.adapter,
                    "in_range": battery.inRange,
                ])
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let config = directory.appendingPathComponent("config.yml")
            try Self.config(batteries, pollInterval: pollInterval, head: configHead).write(to: config, atomically: true, encoding: .utf8)
            let server = try await ServerProcess.start(
                ["--config.file", config.path] + arguments, environment: ["DBUS_SYSTEM_BUS_ADDRESS": fake.busAddress])
            return AdapterRig(fake: fake, server: server, batteries: batteries, directory: directory)
        } catch {
            fake.stop()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Starts a rig, runs `body` with it, and stops it off the cooperative pool however `body` ends
    /// (stopping waits for two processes to exit, which must not hold up other tests' tasks).
    static func with(
        _ batteries: [Battery], adapterSettings: [String: Any] = [:], delays: [String: Int] = FakeBlueZ.fastDelays,
        arguments: [String] = [], _ body: (AdapterRig) async throws -> Void
    ) async throws {
        let rig = try await start(batteries, adapterSettings: adapterSettings, delays: delays, arguments: arguments)
        do {
            try await body(rig)
        } catch {
            _ = await rig.stopOffPool()
            throw error
        }
        _ = await rig.stopOffPool()
    }

    /// The config file `serve` runs with.
    var configPath: String { directory.appendingPathComponent("config.yml").path }

    /// The config file's text for `batteries`.
    static func config(_ batteries: [Battery], pollInterval: String = "300ms", head: String = "") -> String {
        let entries = batteries.map {
            "  - name: \($0.name)\n    address: \($0.address)\n    adapter: \($0.adapter)\n"
                + ($0.keepConnected ? "" : "    keep_connected: false\n")
        }.joined()
        return "poll_interval: \(pollInterval)\n\(head)batteries:\n\(entries)"
    }

    /// SIGTERMs the exporter (its exit status), then stops the fake.
    @discardableResult
    func stop() -> Int32? {
        let status = server.stop()
        fake.stop()
        try? FileManager.default.removeItem(at: directory)
        return status
    }

    /// `stop()` on a thread of its own; the exporter's exit status.
    func stopOffPool() async -> Int32? {
        await offCooperativePool { self.stop() }
    }

    /// Scrapes until `condition` holds (bounded); returns the last scrape's samples.
    func samples(within timeout: TimeInterval = 30, until condition: @escaping ([String: Double]) -> Bool) async throws
        -> [String: Double] {
        parseExposition(try await server.scrape(until: { condition(parseExposition($0)) }, timeout: timeout))
    }

    /// Whether the exporter's log shows `text` within `timeout` (its stderr arrives through a pipe,
    /// so a line may trail the scrape that shows its effect).
    func logShows(_ text: String, within timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !server.log.contains(text) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    func allUp(_ names: [String], since time: Double = 0) -> ([String: Double]) -> Bool {
        { samples in
            names.allSatisfy {
                samples[#"bms_up{battery="\#($0)"}"#] == 1
                    && (samples[#"bms_last_success_timestamp_seconds{battery="\#($0)"}"#] ?? 0) >= time
            }
        }
    }
}

extension [String: Double] {
    func adapter(_ family: String, _ adapter: String) -> Double? {
        self[#"\#(family){adapter="\#(adapter)"}"#]
    }

    func battery(_ family: String, _ battery: String, _ extra: String = "") -> Double? {
        self[#"\#(family){battery="\#(battery)"\#(extra)}"#]
    }
}
