import BatterySession
import Exposition
import JBD

/// Untimed, fixed amounts of work for `valgrind --tool=callgrind`, whose instruction counts
/// repeat exactly on a noisy shared machine: `bms_benchmarks profile render 64 100` runs 100
/// renders of 64 batteries; (Ir(N) − Ir(0)) / N is the cost of one.
enum Profile {
    static let usage = "usage: bms_benchmarks profile decode PAIRS | profile render BATTERIES RENDERS | profile print"

    static func run(_ arguments: [String]) throws {
        let numbers = arguments.dropFirst().compactMap { Int($0) }
        switch (arguments.first, numbers.count) {
        case ("decode", 1):
            let chunks = Fixtures.notifications(Fixtures.basicInfoFrame) + Fixtures.notifications(Fixtures.cellVoltagesFrame)
            var assembler = JBD.FrameAssembler()
            var checksum = 0
            for _ in 0..<numbers[0] { checksum &+= DecodeBenchmark.feed(chunks, into: &assembler) }
            blackHole(checksum)
        case ("render", 2):
            let now = 1_750_000_000.0
            let statuses = Fixtures.statuses(numbers[0], now: now)
            var bytes = 0
            for _ in 0..<numbers[1] { bytes &+= Exposition.MetricsRenderer.render(statuses, now: now).utf8.count }
            blackHole(bytes)
        case ("print", 0):
            // Every renderer branch once, to compare the output byte for byte across changes.
            let now = 1_750_000_000.0
            var statuses = Fixtures.statuses(4, now: now)
            statuses[1].reading = Fixtures.reading(timestamp: now - 100)
            statuses[2] = BatteryStatus(name: "van \"rear\"\\2\nx", address: "A4:C1:38:00:00:09", maxAgeSeconds: 30)
            statuses[3].lastPollSucceeded = false
            statuses[3].rssi = nil
            print(MetricsRenderer.render(statuses, now: now), terminator: "")
        default:
            throw BenchmarkError.tool(usage)
        }
    }
}
