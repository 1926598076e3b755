@testable import Exposition
import Testing

@Suite struct ProcessSnapshotTests {
    @Test func rendersClientGolangsFamiliesSortedByName() {
        let snapshot = ProcessSnapshot(cpuSeconds: 1.25, residentMemoryBytes: 4096, virtualMemoryBytes: 8192,
                                       openFileDescriptors: 9, maxFileDescriptors: 1024, startTimeSeconds: 1_764_536_400.37)
        let text = MetricsRenderer.render([], now: 0, process: snapshot)
        let processPart = text[text.range(of: "# HELP process_")!.lowerBound...]
        #expect(processPart == """
            # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
            # TYPE process_cpu_seconds_total counter
            process_cpu_seconds_total 1.25
            # HELP process_max_fds Maximum number of open file descriptors.
            # TYPE process_max_fds gauge
            process_max_fds 1024
            # HELP process_open_fds Number of open file descriptors.
            # TYPE process_open_fds gauge
            process_open_fds 9
            # HELP process_resident_memory_bytes Resident memory size in bytes.
            # TYPE process_resident_memory_bytes gauge
            process_resident_memory_bytes 4096
            # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
            # TYPE process_start_time_seconds gauge
            process_start_time_seconds 1764536400.37
            # HELP process_virtual_memory_bytes Virtual memory size in bytes.
            # TYPE process_virtual_memory_bytes gauge
            process_virtual_memory_bytes 8192

            """)
    }

    @Test func aValueTheSystemDidNotGiveIsLeftOut() {
        let text = MetricsRenderer.render([], now: 0, process: ProcessSnapshot(cpuSeconds: 2))
        #expect(text.contains("process_cpu_seconds_total 2\n"))
        #expect(!text.contains("process_max_fds"))
        #expect(!MetricsRenderer.render([], now: 0).contains("process_"), "no snapshot, no process series")
    }

    /// The command name may hold spaces and parentheses; fields are counted after the last ")".
    @Test func statLineSurvivesAStrangeCommandName() throws {
        let fields = (3...52).map { number in
            switch number {
            case 3: "S"
            case 14: "150"
            case 15: "50"
            case 22: "1234"
            case 23: "555000"
            case 24: "300"
            default: "0"
            }
        }
        let line = "4242 (a) b) c) " + fields.joined(separator: " ") + "\n"
        let stat = try #require(ProcessCollector.StatLine(line))
        #expect(stat.userTicks == 150 && stat.systemTicks == 50 && stat.startTicks == 1234)
        #expect(stat.virtualBytes == 555_000 && stat.residentPages == 300)
        #expect(ProcessCollector.StatLine("4242 (truncated) S 1 2") == nil)
    }

    @Test func limitsAndBootTimeParse() {
        let limits = """
            Limit                     Soft Limit           Hard Limit           Units
            Max open files            1024                 524288               files
            """
        #expect(ProcessCollector.openFilesSoftLimit(limits) == 1024)
        #expect(ProcessCollector.openFilesSoftLimit("Max open files            unlimited            unlimited            files") == nil)
        #expect(ProcessCollector.bootTime("cpu  1 2 3\nbtime 1764500000\nprocesses 9\n") == 1_764_500_000)
    }
}
