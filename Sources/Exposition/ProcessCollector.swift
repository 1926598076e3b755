import Glibc

/// Reads `ProcessSnapshot` from /proc at scrape time (never cached: the numbers are what the
/// process uses now). Kept apart from the renderer, which stays a pure function of its input.
public enum ProcessCollector {
    /// This process now; an empty snapshot where /proc is missing (not Linux).
    public static func snapshot() -> ProcessSnapshot {
        var snapshot = ProcessSnapshot()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = readFile("/proc/self/stat").flatMap(StatLine.init), ticks > 0 {
            snapshot.cpuSeconds = Double(stat.userTicks + stat.systemTicks) / ticks
            snapshot.virtualMemoryBytes = Double(stat.virtualBytes)
            snapshot.residentMemoryBytes = Double(stat.residentPages) * pageSize
            if let bootTime = readFile("/proc/stat").flatMap(Self.bootTime) {
                snapshot.startTimeSeconds = Double(bootTime) + Double(stat.startTicks) / ticks
            }
        }
        snapshot.maxFileDescriptors = readFile("/proc/self/limits").flatMap(Self.openFilesSoftLimit)
        snapshot.openFileDescriptors = countEntries("/proc/self/fd").map(Double.init)
        return snapshot
    }

    /// The fields of /proc/PID/stat that the snapshot needs (proc(5) numbers them from 1).
    struct StatLine: Equatable {
        var userTicks: UInt64
        var systemTicks: UInt64
        var startTicks: UInt64
        var virtualBytes: UInt64
        var residentPages: UInt64

        init?(_ text: String) {
            // The command name (field 2) is in parentheses and may hold spaces or ")": the
            // numbered fields start after the last ")", with field 3 (state) first.
            guard let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
            func field(_ number: Int) -> UInt64? {
                let index = number - 3
                return fields.indices.contains(index) ? UInt64(fields[index]) : nil
            }
            guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23), let rss = field(24)
            else { return nil }
            userTicks = utime
            systemTicks = stime
            startTicks = start
            virtualBytes = vsize
            residentPages = rss
        }
    }

    /// `btime` of /proc/stat: the boot time in Unix seconds.
    static func bootTime(_ text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return UInt64(line.dropFirst("btime ".count).trimmingPrefix(while: { $0 == " " }))
        }
        return nil
    }

    /// The soft limit of "Max open files" in /proc/PID/limits; nil when unlimited.
    static func openFilesSoftLimit(_ text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let values = line.dropFirst("Max open files".count).split(separator: " ")
            return values.first.flatMap { Double($0) }
        }
        return nil
    }

    /// The whole file, or nil when it cannot be read.
    static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Entries of a directory other than `.` and `..`; for /proc/self/fd that includes the
    /// descriptor reading it, as client_golang counts it too.
    static func countEntries(_ path: String) -> Int? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return count
    }
}
