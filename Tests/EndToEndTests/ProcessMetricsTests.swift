import Foundation
import TestSupport
import Testing

/// client_golang's `process_*` series, checked against /proc as this test reads it.
@Suite struct ProcessMetricsTests {
    @Test func processSeriesMatchProcAndAreReadAtScrapeTime() async throws {
        let server = try await ServerProcess.start(["--simulate"])
        defer { server.stop() }
        let body = try await server.request("/metrics").body
        let samples = parseExposition(body)
        let proc = "/proc/\(server.pid)"

        for (name, type) in [("process_cpu_seconds_total", "counter"), ("process_max_fds", "gauge"), ("process_open_fds", "gauge"),
                             ("process_resident_memory_bytes", "gauge"), ("process_start_time_seconds", "gauge"),
                             ("process_virtual_memory_bytes", "gauge")] {
            #expect(body.contains("# TYPE \(name) \(type)\n"), "\(name)")
            #expect(samples[name] != nil, "\(name) missing")
        }

        // Fields after the command name, numbered from 3 as in proc(5).
        let stat = try String(contentsOfFile: "\(proc)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        func field(_ number: Int) -> Double { Double(fields[number - 3])! }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let bootTime = try String(contentsOfFile: "/proc/stat", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("btime ") }.flatMap { Double($0.split(separator: " ")[1]) }
        #expect(samples["process_start_time_seconds"] == (try #require(bootTime)) + field(22) / ticks)
        let cpu = try #require(samples["process_cpu_seconds_total"])
        #expect(cpu > 0 && cpu <= (field(14) + field(15)) / ticks + 0.01)
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let resident = try #require(samples["process_resident_memory_bytes"])
        #expect(abs(resident - field(24) * pageSize) < 32 * 1024 * 1024, "resident \(resident)")
        let virtual = try #require(samples["process_virtual_memory_bytes"])
        #expect(virtual >= resident)
        let limits = try String(contentsOfFile: "\(proc)/limits", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("Max open files") }
        let softLimit = limits.flatMap { Double($0.dropFirst("Max open files".count).split(separator: " ")[0]) }
        #expect(samples["process_max_fds"] == softLimit)

        // Open descriptors: held-open connections show in the next scrape, so the value is read
        // then, not cached. The server accepts them asynchronously: wait for the count, bounded.
        let before = try #require(samples["process_open_fds"])
        let listed = Double(try FileManager.default.contentsOfDirectory(atPath: "\(proc)/fd").count)
        #expect(abs(before - listed) <= 4, "open_fds \(before), /proc lists \(listed)")
        let extra = 8
        let connections = (0..<extra).compactMap { _ in RawConnection(port: server.port, timeout: 5) }
        defer { connections.forEach { $0.close() } }
        #expect(connections.count == extra)
        let after = try await server.scrape(until: { (parseExposition($0)["process_open_fds"] ?? 0) >= before + Double(extra) })
        #expect((parseExposition(after)["process_open_fds"] ?? 0) >= before + Double(extra))
    }

    @Test func promtoolFindsNothingWrongWithTheProcessSeries() async throws {
        let server = try await ServerProcess.start(["--simulate"])
        defer { server.stop() }
        let body = try await server.request("/metrics").body
        let processOnly = body.split(separator: "\n").filter { $0.contains("process_") }.joined(separator: "\n") + "\n"
        let directory = try TestDirectory("bms-process")
        defer { directory.remove() }
        let file = try directory.write("process.prom", processOnly)
        let output = try await FinishedProcess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "promtool check metrics < \"$0\"", file])
        #expect(output.status == 0, "promtool: \(output.stdout)\(output.stderr)")
        #expect(processOnly.split(separator: "\n").count == 18)
    }
}
