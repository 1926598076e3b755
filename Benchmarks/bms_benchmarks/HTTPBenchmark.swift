import Foundation
import TestSupport

/// Item 4: `/metrics` of the release binary under concurrent load, measured with `wrk`.
enum HTTPBenchmark {
    struct Run {
        let requestsPerSecond: Double
        let p50Milliseconds: Double
        let p99Milliseconds: Double
        let requests: Int
        let errors: Int
        /// Server CPU per request, from /proc (user + system).
        let serverCPUMicroseconds: Double
    }

    struct Result {
        let runs: [Run]
        let bodyBytes: Int
        let arguments: String
        var requestsPerSecond: Summary { Summary(runs.map(\.requestsPerSecond)) }
        var p99Milliseconds: Summary { Summary(runs.map(\.p99Milliseconds)) }
        var p50Milliseconds: Summary { Summary(runs.map(\.p50Milliseconds)) }
        var serverCPUMicroseconds: Summary { Summary(runs.map(\.serverCPUMicroseconds)) }
        var errors: Int { runs.map(\.errors).reduce(0, +) }
    }

    static func run(binary: String, runs: Int, seconds: Int, threads: Int = 2, connections: Int = 10) throws -> Result {
        let server = try ServerProcess.start(binary: binary, ["--simulate"])
        defer { server.stop() }
        try server.waitForMetrics(timeout: 30) { $0.contains("bms_up{battery=\"simulated\"} 1") }
        let body = try HTTPGet.body(port: server.port, path: "/metrics")
        let url = "http://127.0.0.1:\(server.port)/metrics"
        let wrkArguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency", url]
        // A short warm-up so that the first run does not pay for connection setup and page faults.
        _ = try wrk(["-t\(threads)", "-c\(connections)", "-d1s", url])
        var results: [Run] = []
        for _ in 0..<runs {
            let cpuBefore = ProcessStats.cpuSeconds(of: server.pid) ?? 0
            let output = try wrk(wrkArguments)
            let cpuAfter = ProcessStats.cpuSeconds(of: server.pid) ?? 0
            results.append(try parse(output, serverCPUSeconds: cpuAfter - cpuBefore))
        }
        return Result(runs: results, bodyBytes: body.utf8.count,
                      arguments: "wrk -t\(threads) -c\(connections) -d\(seconds)s --latency")
    }

    static func wrk(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { throw BenchmarkError.tool("cannot run /usr/bin/wrk (apt-get install wrk): \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw BenchmarkError.tool("wrk failed: \(text)") }
        return text
    }

    static func parse(_ output: String, serverCPUSeconds: Double) throws -> Run {
        var rps: Double?
        var p50: Double?
        var p99: Double?
        var requests: Int?
        var errors = 0
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { continue }
            switch first {
            case "Requests/sec:": rps = words.count > 1 ? Double(words[1]) : nil
            case "50%": p50 = words.count > 1 ? milliseconds(words[1]) : nil
            case "99%": p99 = words.count > 1 ? milliseconds(words[1]) : nil
            case "Non-2xx": errors += words.last.flatMap { Int($0) } ?? 0
            case "Socket": errors += line.split(separator: ",").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
            default:
                if words.count > 2, words[1] == "requests", words[2] == "in" { requests = Int(first) }
            }
        }
        guard let rps, let p50, let p99, let requests, requests > 0 else {
            throw BenchmarkError.tool("unexpected wrk output:\n\(output)")
        }
        return Run(requestsPerSecond: rps, p50Milliseconds: p50, p99Milliseconds: p99, requests: requests,
                   errors: errors, serverCPUMicroseconds: serverCPUSeconds * 1e6 / Double(requests))
    }

    /// wrk's latency with its unit ("812.00us", "1.20ms", "1.01s") in milliseconds.
    static func milliseconds(_ text: Substring) -> Double? {
        for (unit, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(unit) {
            return Double(text.dropLast(unit.count)).map { $0 * factor }
        }
        return nil
    }
}
