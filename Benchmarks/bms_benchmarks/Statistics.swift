/// Median and 99th (and 1st) percentile of a set of measurements (nearest rank, no interpolation).
struct Summary {
    let count: Int
    let median: Double
    let p99: Double
    /// The 1st percentile: for a rate (frames/s), the value 99 % of runs reached or beat.
    let p1: Double
    let minimum: Double
    let maximum: Double

    init(_ values: [Double]) {
        precondition(!values.isEmpty, "a summary needs at least one measurement")
        let sorted = values.sorted()
        count = sorted.count
        median = Self.rank(sorted, 0.50)
        p99 = Self.rank(sorted, 0.99)
        p1 = Self.rank(sorted, 0.01)
        minimum = sorted[0]
        maximum = sorted[sorted.count - 1]
    }

    /// The value at quantile `q` by nearest rank: the smallest value with at least q of the set at or below it.
    static func rank(_ sorted: [Double], _ q: Double) -> Double {
        let index = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(index, 0), sorted.count - 1)]
    }
}

/// Keeps a value alive so that the optimiser cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

extension Duration {
    var nanoseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}

/// Fixed-precision number formatting without Foundation's `String(format:)`.
func fixed(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled - Double(whole) * scale)
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard decimals > 0 else { return sign + grouped(whole) }
    let digits = String(fraction)
    return sign + grouped(whole) + "." + String(repeating: "0", count: decimals - digits.count) + digits
}

/// 1234567 → "1,234,567".
func grouped(_ value: Int) -> String {
    let digits = Array(String(value))
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return out
}

