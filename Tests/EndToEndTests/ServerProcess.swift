import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real binary running `serve`, with its port learned from its own "listening" log line.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var stderrText = ""
    private let listening = DispatchSemaphore(value: 0)
    private(set) var port = 0

    /// Starts `bms_exporter serve` on an ephemeral loopback port and waits until it listens.
    init(_ arguments: [String], environment: [String: String] = [:], startupTimeout: TimeInterval = 30) throws {
        process.executableURL = BinaryUnderTest.url
        process.arguments = ["serve", "--web.listen-address", "127.0.0.1:0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.append(handle.availableData)
        }
        try process.run()
        guard listening.wait(timeout: .now() + startupTimeout) == .success else {
            stop()
            throw ServerError.didNotStart(log)
        }
    }

    var log: String { lock.withLock { stderrText } }

    private func append(_ data: Data) {
        guard !data.isEmpty else { return }
        let found: Int? = lock.withLock {
            stderrText += String(decoding: data, as: UTF8.self)
            guard port == 0, let range = stderrText.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression)
            else { return nil }
            return Int(stderrText[range].split(separator: ":").last ?? "")
        }
        if let found {
            port = found
            listening.signal()
        }
    }

    /// Sends SIGTERM and waits for the exit status, at most `timeout`.
    @discardableResult
    func stop(timeout: TimeInterval = 10) -> Int32? {
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

    struct HTTPResult {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    /// One request with a real HTTP client.
    func request(_ path: String, method: String = "GET") async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return HTTPResult(status: http.statusCode, headers: headers, body: String(decoding: data, as: UTF8.self))
    }

    /// Scrapes until `condition` holds on the body, bounded by `timeout`; returns the last body.
    func scrape(until condition: (String) -> Bool, timeout: TimeInterval = 20, path: String = "/metrics") async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var body = ""
        repeat {
            body = try await request(path).body
            if condition(body) { return body }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        return body
    }

    enum ServerError: Error, CustomStringConvertible {
        case didNotStart(String)
        var description: String {
            switch self {
            case let .didNotStart(log): "server did not report listening; log:\n\(log)"
            }
        }
    }
}

/// Parses the text exposition into `series → value` for assertions.
func parseExposition(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        samples[String(line[..<space])] = value
    }
    return samples
}
