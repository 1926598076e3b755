/// The exporter's own process, as client_golang's process collector exports it: CPU time,
/// memory, file descriptors, start time. Each value is nil when the system did not give it,
/// and its series is then left out rather than served as a made-up number.
public struct ProcessSnapshot: Sendable, Equatable {
    public var cpuSeconds: Double?
    public var residentMemoryBytes: Double?
    public var virtualMemoryBytes: Double?
    public var openFileDescriptors: Double?
    public var maxFileDescriptors: Double?
    public var startTimeSeconds: Double?

    public init(
        cpuSeconds: Double? = nil, residentMemoryBytes: Double? = nil, virtualMemoryBytes: Double? = nil,
        openFileDescriptors: Double? = nil, maxFileDescriptors: Double? = nil, startTimeSeconds: Double? = nil
    ) {
        self.cpuSeconds = cpuSeconds
        self.residentMemoryBytes = residentMemoryBytes
        self.virtualMemoryBytes = virtualMemoryBytes
        self.openFileDescriptors = openFileDescriptors
        self.maxFileDescriptors = maxFileDescriptors
        self.startTimeSeconds = startTimeSeconds
    }

    /// The `process_*` families in client_golang's names, types and help texts, sorted by name
    /// as its registry sorts them.
    func exposition() -> String {
        let families: [(String, MetricFamily.Kind, String, Double?)] = [
            ("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.", cpuSeconds),
            ("process_max_fds", .gauge, "Maximum number of open file descriptors.", maxFileDescriptors),
            ("process_open_fds", .gauge, "Number of open file descriptors.", openFileDescriptors),
            ("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", residentMemoryBytes),
            ("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.", startTimeSeconds),
            ("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", virtualMemoryBytes),
        ]
        var text = ""
        for (name, kind, help, value) in families {
            guard let value else { continue }
            text += MetricFamily.header(name: name, kind: kind, help: help) + name + " " + SampleWriter.format(value) + "\n"
        }
        return text
    }
}
