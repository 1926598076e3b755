import Foundation

/// `bms_exporter serve` on an ephemeral loopback port, learned from its own "listening" log line.
public final class ExporterServer: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var stderrTail = ""
    private var learnedPort = 0
    private let listening = DispatchSemaphore(value: 0)

    /// Launches `executable serve --web.listen-address 127.0.0.1:0 arguments…`; `start` waits
    /// until it listens.
    private init(executable: URL, arguments: [String], environment: [String: String]) throws {
        process.executableURL = executable
        process.arguments = ["serve", "--web.listen-address", "127.0.0.1:0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try ProcessLaunch.serialized {
            let stderr = Pipe()
            stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
                self?.append(handle.availableData)
            }
            process.standardError = stderr
            try process.run()
        }
    }

    /// Starts the server and waits, off the cooperative pool, until it reports listening.
    public static func start(
        executable: URL, arguments: [String], environment: [String: String] = [:]
    ) async throws -> ExporterServer {
        let server = try ExporterServer(executable: executable, arguments: arguments, environment: environment)
        try await offCooperativePool { try server.waitUntilListening() }
        return server
    }

    /// As `start`, blocking the calling thread: for benchmarks, which own their threads.
    public static func startBlocking(
        executable: URL, arguments: [String], environment: [String: String] = [:]
    ) throws -> ExporterServer {
        let server = try ExporterServer(executable: executable, arguments: arguments, environment: environment)
        try server.waitUntilListening()
        return server
    }

    private func waitUntilListening() throws {
        guard listening.wait(timeout: .now() + 30) == .success else {
            stop()
            throw DidNotStart(log: log)
        }
    }

    public var pid: pid_t { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var port: Int { lock.withLock { learnedPort } }
    /// The end of stderr: at most the last 64 KiB.
    public var log: String { lock.withLock { stderrTail } }

    private func append(_ data: Data) {
        guard !data.isEmpty else { return }
        let justLearned = lock.withLock {
            stderrTail += String(decoding: data, as: UTF8.self)
            defer {
                // Soaks and benchmarks run for long: the log must not grow this process's memory.
                if stderrTail.utf8.count > 1 << 16 { stderrTail = String(stderrTail.suffix(1 << 15)) }
            }
            guard learnedPort == 0,
                  let range = stderrTail.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                  let port = Int(stderrTail[range].split(separator: ":").last ?? "")
            else { return false }
            learnedPort = port
            return true
        }
        if justLearned { listening.signal() }
    }

    /// SIGTERM, SIGKILL after `timeout`; returns the exit status, nil when it had to be killed.
    @discardableResult
    public func stop(timeout: TimeInterval = 10) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { stop() } }

    public struct DidNotStart: Error, CustomStringConvertible {
        public let log: String
        public var description: String { "bms_exporter serve did not report listening; log:\n\(log)" }
    }
}
