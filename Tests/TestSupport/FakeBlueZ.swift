import DBus
import Foundation
import Synchronization

/// A private `dbus-daemon` with the fake BlueZ (`Tests/FakeBlueZ/fake_bluez.py`) on it, for tests.
///
/// ```swift
/// let fake = try await FakeBlueZ.start()               // bus + fake, hci0, fast delays
/// defer { fake.stop() }
/// try await fake.addBattery(["address": "A4:C1:38:00:00:01", "name": "xiaoxiang BMS"])
/// try await fake.setBMS("A4:C1:38:00:00:01", ["cells_mv": [3400, 3401, 3402, 3403]])
/// try await fake.setFaults("A4:C1:38:00:00:01", ["drop_first_reply": 1])
/// // point the code under test at fake.busAddress (DBUS_SYSTEM_BUS_ADDRESS)
/// try await fake.restartBlueZ()                        // bluetoothd gone and back (state kept)
/// try await fake.restartBus()                          // the bus daemon itself, same address
/// ```
///
/// Only processes this object started are signalled; its temp dir is removed by `stop()`.
/// Every wait is for an event (a line on a pipe) under a deadline, never a fixed sleep.
public final class FakeBlueZ: Sendable {
    /// Delays (ms) that keep tests quick while keeping the fake's ordering: see the fake's README.
    public static let fastDelays: [String: Int] = [
        "reply_delay_ms": 5, "chunk_interval_ms": 0, "connect_delay_ms": 5, "resolve_delay_ms": 10,
        "notify_delay_ms": 1, "disconnect_delay_ms": 2, "discovery_delay_ms": 5, "rssi_interval_ms": 50,
        "absent_connect_timeout_ms": 300,
    ]
    /// Every delay at zero (the fake's next main-loop turn), so what is left of a poll is the
    /// client's own work plus the D-Bus round trips; except the RSSI report period, which only runs
    /// while discovering and would spin the fake at zero. For benchmarks and the soak.
    public static let zeroDelays: [String: Int] = [
        "reply_delay_ms": 0, "chunk_interval_ms": 0, "connect_delay_ms": 0, "resolve_delay_ms": 0,
        "notify_delay_ms": 0, "disconnect_delay_ms": 0, "discovery_delay_ms": 0, "rssi_interval_ms": 50,
        "absent_connect_timeout_ms": 300,
    ]
    /// The four read requests: all bms_exporter may write to a module without a password.
    public static let allowedWrites: Set<String> = ["dda50300fffd77", "dda50400fffc77", "dda50500fffb77", "dda5aa00ff5677"]
    /// The fixed frames of an FF AA module's password exchange: app key "000000", challenge request.
    public static let allowedAuthWrites: Set<String> = ["ffaa15063030303030303b", "ffaa170017"]

    /// Whether bms_exporter may ever write `hex`: a read request, a fixed exchange frame, or a
    /// password frame (`ffaa1806`, six data bytes, their checksum), as scripts/check-write-log says.
    public static func isAllowedWrite(_ hex: String) -> Bool {
        if allowedWrites.contains(hex) || allowedAuthWrites.contains(hex) { return true }
        let bytes = bytesFromHex(hex)
        guard hex.count == 22, bytes.count == 11, bytes.starts(with: [0xFF, 0xAA, 0x18, 0x06]) else { return false }
        return bytes[2...9].reduce(UInt8(0)) { $0 &+ $1 } == bytes[10]
    }

    /// `unix:path=…`, stable across `restartBus()`: give it to the code under test.
    public let busAddress: String
    /// The temp dir holding the socket, state file and logs.
    public let directory: URL
    /// `$FAKE_BLUEZ_WRITE_LOG` when set (one log for the whole suite), else a file in `directory`.
    public let writeLogPath: String
    private let stateFile: String
    private let repoRoot: URL

    private struct Processes {
        var daemon: ChildProcess?
        var fake: ChildProcess?
        var control: DBusConnection?
        var stopped = false
    }

    private let processes = Mutex(Processes())

    /// Starts a bus and the fake, then applies `delays` (nil = the fake's defaults).
    /// `defaultAdapter: false` starts without `hci0`.
    public static func start(
        delays: [String: Int]? = fastDelays, defaultAdapter: Bool = true
    ) async throws -> FakeBlueZ {
        let fake = try FakeBlueZ(defaultAdapter: defaultAdapter)
        do {
            try await fake.startDaemon()
            try await fake.startFake(defaultAdapter: defaultAdapter)
            if let delays { try await fake.setDelays(delays) }
        } catch {
            fake.stop()
            throw error
        }
        return fake
    }

    private let defaultAdapter: Bool

    private init(defaultAdapter: Bool) throws {
        self.defaultAdapter = defaultAdapter
        // This file is Tests/TestSupport/FakeBlueZ.swift.
        repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        directory = URL(fileURLWithPath: try TestDirectory(forSockets: "fakebluez").path)
        busAddress = "unix:path=\(directory.path)/bus"
        stateFile = directory.appendingPathComponent("state.json").path
        writeLogPath = ProcessInfo.processInfo.environment["FAKE_BLUEZ_WRITE_LOG"]
            ?? directory.appendingPathComponent("writes.log").path
    }

    deinit {
        stop()
    }

    var controlConnection: DBusConnection? {
        processes.withLock { $0.control }
    }

    // MARK: Processes

    /// Stops the fake and the bus (only the processes started here) and removes the temp dir.
    public func stop() {
        let (fake, daemon, control) = processes.withLock { state in
            defer {
                state = Processes()
                state.stopped = true
            }
            return (state.fake, state.daemon, state.control)
        }
        control?.close()
        if let fake { Self.terminate(fake) }
        if let daemon { Self.terminate(daemon) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// bluetoothd gone: SIGTERM the fake and wait for it to exit. Clients see `NameOwnerChanged(…, "")`.
    public func stopBlueZ() async {
        let fake = processes.withLock { state -> ChildProcess? in
            defer { state.fake = nil }
            return state.fake
        }
        if let fake { await offCooperativePool { Self.terminate(fake) } }
    }

    /// bluetoothd crashes: SIGKILL the fake (no clean-up at all). Clients see `NameOwnerChanged(…, "")`.
    public func killBlueZ() async {
        let fake = processes.withLock { state -> ChildProcess? in
            defer { state.fake = nil }
            return state.fake
        }
        if let fake { await offCooperativePool { fake.killAbruptly() } }
    }

    /// bluetoothd back: starts the fake again with the same state file and write log.
    public func startBlueZ() async throws {
        try await startFake(defaultAdapter: defaultAdapter)
    }

    /// bluetoothd gone and back (state, BMS values and faults kept; links and sessions gone).
    public func restartBlueZ() async throws {
        await stopBlueZ()
        try await startBlueZ()
    }

    /// The bus daemon itself restarts at the same address; the fake is started again on it.
    public func restartBus() async throws {
        await stopBus()
        try await startBus()
    }

    /// After `stopBus()`: the bus daemon again at the same address, with the fake on it.
    public func startBus() async throws {
        try await startDaemon()
        try await startFake(defaultAdapter: defaultAdapter)
    }

    /// Stops the fake and the bus daemon (clients lose their connection).
    public func stopBus() async {
        let (fake, daemon, control) = processes.withLock { state in
            defer {
                state.fake = nil
                state.daemon = nil
                state.control = nil
            }
            return (state.fake, state.daemon, state.control)
        }
        control?.close()
        await offCooperativePool {
            if let fake { Self.terminate(fake) }
            if let daemon { Self.terminate(daemon) }
        }
    }

    private func startDaemon() async throws {
        let (address, stderr) = (busAddress, directory.appendingPathComponent("dbus-daemon.stderr").path)
        let daemon = try await Self.launch { try ChildProcess.busDaemon(address: address, stderr: stderr) }
        try register(daemon) { $0.daemon = daemon }
        let control = try DBusConnection(address: busAddress)
        processes.withLock { $0.control = control }
    }

    private func startFake(defaultAdapter: Bool) async throws {
        var arguments = [
            repoRoot.appendingPathComponent("Tests/FakeBlueZ/fake_bluez.py").path,
            "--bus-address", busAddress, "--write-log", writeLogPath, "--state-file", stateFile,
        ]
        if !defaultAdapter { arguments.append("--no-default-adapter") }
        let stderr = directory.appendingPathComponent("fake_bluez.stderr").path
        let fake = try await Self.launch { [arguments] in
            try ChildProcess.started("/usr/bin/python3", arguments, stderr: stderr, what: "fake_bluez", expecting: { $0 == "READY" })
        }
        try register(fake) { $0.fake = fake }
    }

    private func register(_ process: ChildProcess, _ store: (inout Processes) -> Void) throws {
        let stopped = processes.withLock { state -> Bool in
            if !state.stopped { store(&state) }
            return state.stopped
        }
        if stopped {
            Self.terminate(process)
            throw FakeBlueZError.setup("the fake was stopped while starting")
        }
    }

    /// Starts a child off the cooperative pool (`ChildProcess.started` waits for its first line).
    private static func launch(_ start: @escaping @Sendable () throws -> ChildProcess) async throws -> ChildProcess {
        do {
            return try await offCooperativePool(start)
        } catch {
            throw FakeBlueZError.setup("\(error)")
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s; reaps it.
    private static func terminate(_ child: ChildProcess) {
        child.terminate()
    }

    /// Runs blocking work on its own thread so the cooperative pool keeps running other tests.
}

public enum FakeBlueZError: Error, CustomStringConvertible {
    case setup(String)
    case control(String)

    public var description: String {
        switch self {
        case .setup(let message): "fake BlueZ setup: \(message)"
        case .control(let message): "fake BlueZ control: \(message)"
        }
    }
}
