import TestSupport
import Foundation

/// The release `bms_exporter serve`.
typealias ServerProcess = ExporterServer

extension ExporterServer {
    static func start(binary: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ExporterServer {
        try startBlocking(executable: URL(fileURLWithPath: binary), arguments: arguments, environment: environment)
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
}

/// One HTTP GET (Connection: close) on loopback, for readiness checks (not for load).
enum HTTPGet {
    static func body(port: Int, path: String) throws -> String {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        let answer = RawConnection.exchange(port: port, request, timeout: 10, readToEnd: true)
        guard answer.status != nil else { throw BenchmarkError.server("no HTTP response (\(answer.summary))") }
        return answer.body
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
