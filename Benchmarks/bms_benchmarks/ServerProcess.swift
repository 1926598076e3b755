import Foundation

/// The release `bms_exporter serve`, on an ephemeral loopback port learned from its log.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var stderrText = ""
    private let listening = DispatchSemaphore(value: 0)
    private(set) var port = 0

    var pid: Int32 { process.processIdentifier }

    init(binary: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: binary)
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
            throw BenchmarkError.server("did not start listening: \(log.suffix(2000))")
        }
    }

    var log: String { lock.withLock { stderrText } }

    private func append(_ data: Data) {
        guard !data.isEmpty else { return }
        let found: Int? = lock.withLock {
            stderrText += String(decoding: data, as: UTF8.self)
            // Keep only the tail: a long run must not grow the benchmark's own memory.
            if stderrText.utf8.count > 1 << 16 { stderrText = String(stderrText.suffix(1 << 15)) }
            guard port == 0, let range = stderrText.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression)
            else { return nil }
            return Int(stderrText[range].split(separator: ":").last ?? "")
        }
        if let found {
            port = found
            listening.signal()
        }
    }

    /// Waits until `/metrics` satisfies `ready` (e.g. every battery up), at most `timeout` seconds.
    func waitForMetrics(timeout: Double, _ ready: (String) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let body = try? HTTPGet.body(port: port, path: "/metrics"), ready(body) { return }
            usleep(50_000)
        }
        throw BenchmarkError.server("metrics not ready within \(timeout) s; log: \(log.suffix(2000))")
    }

    /// SIGTERM, then SIGKILL after 10 s; returns the exit status when it exited by itself.
    @discardableResult
    func stop() -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { stop() } }
}

/// One HTTP GET (Connection: close) on loopback with a plain socket, for readiness checks (not for load).
enum HTTPGet {
    static func body(port: Int, path: String) throws -> String {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw BenchmarkError.server("socket: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BenchmarkError.server("connect: errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(socket, request, request.count, 0) == request.count else { throw BenchmarkError.server("send failed") }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw BenchmarkError.server("no HTTP response") }
        return String(text[split.upperBound...])
    }
}

enum BenchmarkError: Error, CustomStringConvertible {
    case server(String)
    case tool(String)
    case fake(String)

    var description: String {
        switch self {
        case let .server(message): "bms_exporter: \(message)"
        case let .tool(message): "tool: \(message)"
        case let .fake(message): "fake BlueZ: \(message)"
        }
    }
}
