import Foundation

/// Figures the kernel keeps about a process (`/proc`): resident memory, descriptors, threads,
/// CPU time. The one reader of them for the soak, the fault matrix and the benchmarks.
public struct ProcessStats: Sendable, Equatable {
    public let residentKilobytes: Int
    public let fileDescriptors: Int
    public let threads: Int

    /// nil when the process is gone.
    public init?(pid: pid_t) {
        guard let memory = Self.memory(of: pid),
              let descriptors = Self.entries(.descriptors, of: pid),
              let tasks = Self.entries(.threads, of: pid)
        else { return nil }
        residentKilobytes = memory.rss
        fileDescriptors = descriptors.count
        threads = tasks.count
    }

    /// A /proc directory that lists one entry per open descriptor or per thread.
    public enum Listing: String, Sendable {
        case descriptors = "fd"
        case threads = "task"
    }

    /// The entries of `/proc/PID/fd` or `/proc/PID/task` (this process when `pid` is nil):
    /// descriptor numbers or thread ids. nil when the process is gone.
    public static func entries(_ listing: Listing, of pid: pid_t? = nil) -> [String]? {
        try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid.map(String.init) ?? "self")/\(listing.rawValue)")
    }

    /// How many descriptors or threads this process (or `pid`) has; 0 when it is gone.
    public static func count(_ listing: Listing, of pid: pid_t? = nil) -> Int {
        entries(listing, of: pid)?.count ?? 0
    }

    /// The smallest growth of each of `counts()` over `baseline` seen within `limit`, checked
    /// every 100 ms and done early once none is above `slack`. Other suites in the same test
    /// process open and close sockets and threads meanwhile (the HTTP abuse tests hold hundreds
    /// of connections for seconds); a leak per round never settles below the slack.
    public static func lowestGrowth(
        over baseline: [Int], slack: Int, within limit: Duration = .seconds(30), of counts: () -> [Int]
    ) async throws -> [Int] {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var lowest = baseline.map { _ in Int.max }
        repeat {
            lowest = zip(lowest, zip(counts(), baseline)).map { min($0, $1.0 - $1.1) }
            if lowest.allSatisfy({ $0 <= slack }) { break }
            try await Task.sleep(for: .milliseconds(100))
        } while clock.now < deadline
        return lowest
    }

    /// Resident set size and its parts, in kB (`/proc/PID/status`).
    public struct Memory: Sendable {
        public let rss: Int
        public let anonymous: Int
        public let file: Int
        public let peak: Int

        public var rssMB: Double { Double(rss) / 1024 }
        public var peakMB: Double { Double(peak) / 1024 }
    }

    public static func memory(of pid: Int32) -> Memory? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let number = parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            fields[String(parts[0])] = number
        }
        guard let rss = fields["VmRSS"] else { return nil }
        return Memory(rss: rss, anonymous: fields["RssAnon"] ?? 0, file: fields["RssFile"] ?? 0, peak: fields["VmHWM"] ?? 0)
    }

    /// User + system CPU seconds a process has used (`/proc/PID/stat`, clock-tick resolution).
    public static func cpuSeconds(of pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds (user + system) of this whole process, at microsecond resolution.
    public static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Processes whose command line contains every one of `fragments` (e.g. a fake's bus path).
    public static func processes(matching fragments: [String]) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let commandLine = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return fragments.allSatisfy { commandLine.contains($0) }
        }
    }

    /// The 1-minute load average, to print beside timings taken on a shared machine.
    public static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
