import TestSupport
import Foundation
import Synchronization
import Testing

/// A battery a rig puts behind the fake BlueZ: what it knows of it is its `AddBattery` JSON. Each
/// suite keeps its own kind (the fault trio, the adapter fleet) as data with what it checks.
protocol RigBattery: Sendable {
    /// The `AddBattery` JSON for the fake.
    var fakeDefinition: [String: Any] { get }
}

/// A battery that also knows its entry in the config file's `batteries` list.
protocol ConfiguredRigBattery: RigBattery {
    var configEntry: String { get }
}

extension ConfiguredRigBattery {
    /// A config file polling `batteries` every `pollInterval` (config text, e.g. "300ms").
    static func config(_ batteries: [Self], pollInterval: String = "300ms") -> String {
        "poll_interval: \(pollInterval)\nbatteries:\n\(batteries.map(\.configEntry).joined())"
    }
}

/// A battery given as the fake's JSON alone, for suites whose batteries are written out literally.
struct FakeBattery: RigBattery, @unchecked Sendable {
    /// Plain JSON values (strings, numbers, arrays, dictionaries, NSNull), never mutated.
    let fakeDefinition: [String: Any]

    init(_ definition: [String: Any]) { fakeDefinition = definition }
}

/// The one end-to-end rig: the fake BlueZ holding `batteries`, a `TestDirectory` with the config
/// file, and the real `bms_exporter serve` running against both. A suite brings its batteries and
/// config text; what it checks stays in the suite.
final class ExporterRig<Battery: RigBattery>: Sendable {
    let fake: FakeBlueZ
    let batteries: [Battery]
    /// Holds config.yml and whatever else a test writes (PIN and password files).
    let directory: TestDirectory
    private let serving = Mutex<ServerProcess?>(nil)

    /// The config file `serve` runs with, when the rig was given config text.
    var configPath: String { directory.path("config.yml") }

    private init(fake: FakeBlueZ, batteries: [Battery], directory: TestDirectory) {
        self.fake = fake
        self.batteries = batteries
        self.directory = directory
    }

    /// Starts the fake (with `delays`, `adapters` besides hci0 — or none with `defaultAdapter:
    /// false` — every adapter given `adapterSettings`), adds `batteries`, writes `config` (if
    /// any) and, when `serve` is true, starts `serve` with `--config.file` (if a config was
    /// written) and `arguments`. With `serve: false` the server waits for `serve(_:)`.
    static func start(
        _ batteries: [Battery], config: String? = nil, arguments: [String] = [], serve: Bool = true,
        delays: [String: Int] = FakeBlueZ.fastDelays, adapters: [String] = [], adapterSettings: [String: Any] = [:],
        defaultAdapter: Bool = true
    ) async throws -> ExporterRig {
        let fake = try await FakeBlueZ.start(delays: delays, defaultAdapter: defaultAdapter)
        let directory: TestDirectory
        do {
            directory = try TestDirectory("bms-rig")
        } catch {
            await offCooperativePool { fake.stop() }
            throw error
        }
        let rig = ExporterRig(fake: fake, batteries: batteries, directory: directory)
        do {
            for adapter in adapters where adapter != "hci0" { try await fake.addAdapter(adapter, adapterSettings) }
            if defaultAdapter, !adapterSettings.isEmpty { try await fake.setAdapter("hci0", adapterSettings) }
            for battery in batteries { try await fake.addBattery(battery.fakeDefinition) }
            if let config { try directory.write("config.yml", config) }
            if serve { try await rig.serve((config == nil ? [] : ["--config.file", rig.configPath]) + arguments) }
            return rig
        } catch {
            _ = await rig.stopOffPool()
            throw error
        }
    }

    /// Starts a rig, runs `body` with it, and stops it off the cooperative pool however `body` ends
    /// (stopping waits for two processes to exit, which must not hold up other tests' tasks).
    static func with(
        _ batteries: [Battery], config: String, arguments: [String] = [], delays: [String: Int] = FakeBlueZ.fastDelays,
        adapters: [String] = [], adapterSettings: [String: Any] = [:], _ body: (ExporterRig) async throws -> Void
    ) async throws {
        let rig = try await start(
            batteries, config: config, arguments: arguments, delays: delays, adapters: adapters, adapterSettings: adapterSettings)
        do {
            try await body(rig)
        } catch {
            _ = await rig.stopOffPool()
            throw error
        }
        _ = await rig.stopOffPool()
    }

    /// Starts `bms_exporter serve arguments…` against the fake; it becomes the rig's `server`
    /// (a test that stops one may start another, as a user restarts the service).
    @discardableResult
    func serve(_ arguments: [String]) async throws -> ServerProcess {
        let server = try await ServerProcess.start(arguments, environment: environment)
        serving.withLock { $0 = server }
        return server
    }

    /// The exporter `serve` started last.
    var server: ServerProcess {
        guard let server = serving.withLock({ $0 }) else { preconditionFailure("the rig's exporter was never started") }
        return server
    }

    /// The exporter's process id, for /proc sampling.
    var pid: pid_t { server.pid }

    /// What points the binary at the fake's bus.
    var environment: [String: String] { ["DBUS_SYSTEM_BUS_ADDRESS": fake.busAddress] }

    /// A one-shot `bms_exporter arguments…` (read, pair, scan, a failing serve) against the fake.
    func run(_ arguments: [String]) async throws -> FinishedProcess {
        try await BinaryUnderTest.run(arguments, environment: environment)
    }

    /// SIGTERMs the exporter (its exit status, nil if it had to be killed or never ran), then
    /// stops the fake and removes the directory.
    @discardableResult
    func stop() -> Int32? {
        let status = serving.withLock { $0 }?.stop()
        fake.stop()
        directory.remove()
        return status
    }

    /// `stop()`, after expecting that the fake never saw a write outside the frames the exporter
    /// may send (the read requests and the password exchange): the read-only guarantee.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(fake.forbiddenWrites().isEmpty, sourceLocation: sourceLocation)
        stop()
    }

    /// `stop()` on a thread of its own: it blocks while the processes exit, and the cooperative
    /// pool (2 threads here) must keep serving the other rigs meanwhile.
    func stopOffPool() async -> Int32? {
        await offCooperativePool { self.stop() }
    }

    /// SIGTERMs the exporter only, off the pool; returns its exit status and how long it took.
    func terminateExporter() async -> (status: Int32?, took: Duration) {
        let server = server
        return await offCooperativePool {
            let started = ContinuousClock.now
            let status = server.stop()
            return (status, ContinuousClock.now - started)
        }
    }

    /// Scrapes until `condition` holds (bounded); returns the last scrape's samples.
    func samples(within timeout: TimeInterval = 30, until condition: @escaping ([String: Double]) -> Bool) async throws
        -> [String: Double] {
        try await server.samples(within: timeout, until: condition)
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

    /// Polls the fake's state of `address` until `condition` holds or `limit` passes; returns the
    /// last state and whether it held.
    func fakeState(
        _ address: String, within limit: Duration, until condition: ([String: Any]) -> Bool
    ) async throws -> (state: [String: Any], held: Bool) {
        let deadline = ContinuousClock.now + limit
        while true {
            let state = try await fake.state(address)
            if condition(state) { return (state, true) }
            guard ContinuousClock.now < deadline else { return (state, false) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits (bounded) until the fake has a `Connect` of `address` pending, i.e. the exporter is mid-connect.
    func waitForPendingConnect(_ address: String, within limit: Duration = .seconds(5)) async throws {
        guard try await fakeState(address, within: limit, until: { $0["connect_pending"] as? Bool == true }).held else {
            throw FaultMatrixError.noPendingConnect
        }
    }
}
