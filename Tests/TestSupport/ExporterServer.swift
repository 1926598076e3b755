import Foundation

/// `bms_exporter serve` on an ephemeral loopback port, learned from its own "listening" log line.
public final class ExporterServer: @unchecked Sendable {
    private let process = Process()
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var stderrTail = ""
    private var learnedPort = 0
    private let listening = DispatchSemaphore(value: 0)

    /// Starts `executable serve --web.listen-address 127.0.0.1:0 arguments…` and waits until it listens.
    public init(executable: URL, arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = executable
        process.arguments = ["serve", "--web.listen-address", "127.0.0.1:0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.append(handle.availableData)
        }
        try process.run()
        guard listening.wait(timeout: .now() + 30) == .success else {
            stop()
            throw DidNotStart(log: log)
        }
    }

    /// As `init`. Launched on the caller's thread, not via `offCooperativePool`: Foundation's
    /// pipes are not close-on-exec, and launches from many threads at once let one child inherit
    /// another's stdout, so a test waiting for EOF hung (seen once in a fresh-machine run).
    public static func start(
        executable: URL, arguments: [String], environment: [String: String] = [:]
    ) async throws -> ExporterServer {
        try ExporterServer(executable: executable, arguments: arguments, environment: environment)
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
