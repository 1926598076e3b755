import BatterySession
import Exposition

/// Item 2: rendering `/metrics` from a snapshot of n batteries of 16 cells.
enum RenderBenchmark {
    struct Result {
        let batteries: Int
        /// Microseconds per render, one value per render.
        let microseconds: Summary
        let bytes: Int
        let lines: Int
    }

    static func run(batteries: Int, renders: Int) -> Result {
        let now = 1_750_000_000.0
        let statuses = Fixtures.statuses(batteries, now: now)
        let text = MetricsRenderer.render(statuses, now: now)
        var bytes = 0
        for _ in 0..<max(10, renders / 10) { bytes &+= MetricsRenderer.render(statuses, now: now).utf8.count }
        let clock = ContinuousClock()
        var times: [Double] = []
        times.reserveCapacity(renders)
        for _ in 0..<renders {
            let start = clock.now
            let output = MetricsRenderer.render(statuses, now: now)
            times.append((clock.now - start).nanoseconds / 1000)
            bytes &+= output.utf8.count
        }
        blackHole(bytes)
        return Result(
            batteries: batteries, microseconds: Summary(times), bytes: text.utf8.count,
            lines: text.utf8.lazy.filter { $0 == UInt8(ascii: "\n") }.count
        )
    }
}
