import Foundation
import TestSupport

/// One /proc sample of the exporter in a long run (soak, scale): seconds into the run, the polls
/// counted by then (the soak counts them; 0 where nobody does), and the figures.
struct ProcessSample: Sendable {
    let seconds: Double
    var polls = 0
    let stats: ProcessStats
}

/// The two-column markdown table the soak and scale runs print, as docs/reliability.md quotes it.
func measureTable(_ rows: [(String, String)]) -> String {
    let width = rows.map(\.0.count).max() ?? 0
    return "| measure | value |\n|---|---|\n"
        + rows.map { "| \($0.0.padding(toLength: width, withPad: " ", startingAt: 0)) | \($0.1) |" }.joined(separator: "\n") + "\n"
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
