import TestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The binary under test running `serve`.
typealias ServerProcess = ExporterServer

extension ExporterServer {
    /// Starts the binary under test's `serve` on an ephemeral loopback port; returns once it listens.
    static func start(_ arguments: [String], environment: [String: String] = [:]) async throws -> ExporterServer {
        try await start(executable: BinaryUnderTest.url, arguments: arguments, environment: environment)
    }

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
    func scrape(until condition: (String) -> Bool, timeout: TimeInterval = 40, path: String = "/metrics") async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var body = ""
        repeat {
            body = try await request(path).body
            if condition(body) { return body }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        return body
    }

    /// Scrapes until `condition` holds on the parsed samples (bounded); returns the last scrape's samples.
    func samples(within timeout: TimeInterval, until condition: @escaping ([String: Double]) -> Bool) async throws
        -> [String: Double] {
        parseExposition(try await scrape(until: { condition(parseExposition($0)) }, timeout: timeout))
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

/// What `promtool check metrics` says of an exposition, but for the `_ampere_hours` unit kept on
/// purpose (the metric contract in README.md: Grafana's amph unit and users expect it).
func promtoolFindings(_ exposition: String) async throws -> [String] {
    let promtool = try await FinishedProcess.run(
        URL(fileURLWithPath: "/usr/bin/promtool"), ["check", "metrics"], input: Data(exposition.utf8))
    return (promtool.stdout + promtool.stderr).split(separator: "\n").map(String.init)
        .filter { !$0.isEmpty && !$0.contains("_ampere_hours") }
}
