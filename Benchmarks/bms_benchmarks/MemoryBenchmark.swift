import Foundation
import TestSupport

/// Item 5: resident memory of the release binary running `serve`.
enum MemoryBenchmark {
    struct Idle {
        let label: String
        /// VmRSS in MB, one value per process start.
        let rssMB: Summary
        let last: ProcessStats.Memory
    }

    struct Soak {
        let label: String
        let polls: Int
        let seconds: Double
        /// RSS (kB) once the first batch of polls has warmed everything up, and at the end.
        let afterWarmUp: ProcessStats.Memory
        let afterWarmUpPolls: Int
        let atEnd: ProcessStats.Memory
        let atStart: ProcessStats.Memory
        /// (polls, RSS kB) along the way.
        let trace: [(polls: Int, rss: Int)]
        let failures: Int

        var growthKB: Int { atEnd.rss - afterWarmUp.rss }
    }

    /// The server's memory once it has been idle for `settle` seconds.
    private static func settledMemory(of server: ServerProcess, settle: Double) throws -> ProcessStats.Memory {
        usleep(useconds_t(settle * 1e6))  // idle on purpose: the figure is RSS at rest
        guard let memory = ProcessStats.memory(of: server.pid) else { throw BenchmarkError.server("no /proc status") }
        return memory
    }

    /// `serve --simulate`: one simulated battery, no D-Bus.
    static func idleSimulated(binary: String, starts: Int, settle: Double) throws -> Idle {
        var values: [Double] = []
        var last: ProcessStats.Memory?
        for _ in 0..<starts {
            let server = try ServerProcess.start(binary: binary, ["--simulate"])
            defer { server.stop() }
            try server.waitForMetrics(timeout: 30) { $0.contains("bms_up{battery=\"simulated\"} 1") }
            let memory = try settledMemory(of: server, settle: settle)
            values.append(memory.rssMB)
            last = memory
        }
        return Idle(label: "serve --simulate (1 battery)", rssMB: Summary(values), last: last!)
    }

    /// `serve --config.file` with `batteries` fake batteries on the zero-delay fake BlueZ.
    static func idleFake(binary: String, batteries: Int, starts: Int, settle: Double) async throws -> Idle {
        var values: [Double] = []
        var last: ProcessStats.Memory?
        for _ in 0..<starts {
            let world = try await FakeWorld.start(batteries: batteries)
            defer { world.stop() }
            let server = try ServerProcess.start(
                binary: binary, ["--config.file", try world.configFile(pollInterval: "10s")],
                environment: ["DBUS_SYSTEM_BUS_ADDRESS": world.fake.busAddress]
            )
            defer { server.stop() }
            try server.waitForMetrics(timeout: 60) { allUp($0, batteries) }
            let memory = try settledMemory(of: server, settle: settle)
            values.append(memory.rssMB)
            last = memory
        }
        return Idle(label: "serve, \(batteries) fake batteries", rssMB: Summary(values), last: last!)
    }

    /// `serve` polling `batteries` fake batteries every `interval` until `polls` polls (all batteries together).
    static func soak(binary: String, batteries: Int, interval: String, polls: Int) async throws -> Soak {
        let world = try await FakeWorld.start(batteries: batteries)
        defer { world.stop() }
        let server = try ServerProcess.start(
            binary: binary, ["--config.file", try world.configFile(pollInterval: interval)],
            environment: ["DBUS_SYSTEM_BUS_ADDRESS": world.fake.busAddress]
        )
        defer { server.stop() }
        try server.waitForMetrics(timeout: 60) { allUp($0, batteries) }
        guard let atStart = ProcessStats.memory(of: server.pid) else { throw BenchmarkError.server("no /proc status") }
        let warmUpPolls = max(polls / 10, 1)
        let started = Date()
        var afterWarmUp: (ProcessStats.Memory, Int)?
        var trace: [(Int, Int)] = []
        var done = 0
        var memory = atStart
        while done < polls {
            guard server.isRunning else { throw BenchmarkError.server("exited during the soak: \(server.log.suffix(2000))") }
            guard Date().timeIntervalSince(started) < 1800 else {
                throw BenchmarkError.server("only \(done) of \(polls) polls in 30 minutes")
            }
            try await Task.sleep(for: .milliseconds(500))
            done = try await world.polls()
            memory = ProcessStats.memory(of: server.pid) ?? memory
            if afterWarmUp == nil, done >= warmUpPolls { afterWarmUp = (memory, done) }
            if trace.last.map({ done - $0.0 >= polls / 10 }) ?? true { trace.append((done, memory.rss)) }
        }
        let seconds = Date().timeIntervalSince(started)
        if trace.last?.0 != done { trace.append((done, memory.rss)) }
        let body = (try? HTTPGet.body(port: server.port, path: "/metrics")) ?? ""
        return Soak(
            label: "serve, \(batteries) fake batteries, poll every \(interval)", polls: done, seconds: seconds,
            afterWarmUp: afterWarmUp?.0 ?? atStart, afterWarmUpPolls: afterWarmUp?.1 ?? 0, atEnd: memory,
            atStart: atStart, trace: trace, failures: failureCount(body)
        )
    }

    static func allUp(_ metrics: String, _ batteries: Int) -> Bool {
        (1...batteries).allSatisfy { metrics.contains("bms_up{battery=\"battery-\($0)\"} 1") }
    }

    /// The sum of `bms_poll_failures_total` over every battery and reason.
    static func failureCount(_ metrics: String) -> Int {
        metrics.split(separator: "\n").filter { $0.hasPrefix("bms_poll_failures_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
    }
}
