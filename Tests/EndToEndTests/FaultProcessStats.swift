import Foundation

/// Resident memory, open file descriptors and threads of a process, from /proc.
struct ProcessStats: Sendable, Equatable {
    let residentKilobytes: Int
    let fileDescriptors: Int
    let threads: Int

    /// nil when the process is gone.
    init?(pid: pid_t) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }),
              let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"),
              let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        else { return nil }
        residentKilobytes = kilobytes
        fileDescriptors = descriptors.count
        threads = tasks.count
    }
}

/// Least-squares slope of `y` over `x`.
func leastSquaresSlope(_ points: [(x: Double, y: Double)]) -> Double {
    guard points.count >= 2 else { return 0 }
    let n = Double(points.count)
    let meanX = points.map(\.x).reduce(0, +) / n
    let meanY = points.map(\.y).reduce(0, +) / n
    let covariance = points.map { ($0.x - meanX) * ($0.y - meanY) }.reduce(0, +)
    let variance = points.map { ($0.x - meanX) * ($0.x - meanX) }.reduce(0, +)
    return variance == 0 ? 0 : covariance / variance
}

/// Counts the payloads written to `addresses` in a fake's write log as it grows (the file spans
/// bluetoothd restarts and may be shared by a whole suite), reading only what was appended.
final class WriteLogCounter: @unchecked Sendable {
    private let path: String
    private let addresses: Set<String>
    private var offset: UInt64 = 0
    private var partial = ""
    private(set) var counts: [String: Int] = [:]

    init(path: String, addresses: Set<String>) {
        self.path = path
        self.addresses = addresses
    }

    /// Reads the new lines; returns the count per payload (hex) so far.
    func update() -> [String: Int] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return counts }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = handle.readDataToEndOfFile()
        offset += UInt64(data.count)
        let text = partial + String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        partial = String(lines.removeLast())
        for line in lines {
            let fields = line.split(separator: " ")
            if fields.count >= 6, addresses.contains(String(fields[2])) { counts[String(fields[5]), default: 0] += 1 }
        }
        return counts
    }
}

/// A small seeded generator (SplitMix64), so seeded runs (a soak's faults, the abuse tests' garbage) replay.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
