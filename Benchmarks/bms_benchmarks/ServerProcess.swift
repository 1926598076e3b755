import FakeBlueZSupport
import Foundation

/// The release `bms_exporter serve`.
typealias ServerProcess = ExporterServer

extension ExporterServer {
    convenience init(binary: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(executable: URL(fileURLWithPath: binary), arguments: arguments, environment: environment)
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
