/// Exponential backoff with jitter, so that batteries failing together do not retry in step.
struct Backoff: Sendable {
    let initial: Duration
    let maximum: Duration
    /// Fraction of the delay added or removed at random.
    let jitter: Double
    private(set) var failures = 0

    init(initial: Duration, maximum: Duration, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.jitter = jitter
    }

    /// The delay before the next attempt, and one more failure counted.
    mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let exponent = min(failures, 30)
        failures += 1
        let base = min(initial * (1 << exponent), maximum)
        let factor = 1 + Double.random(in: -jitter...jitter, using: &random)
        return base * factor
    }

    mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return next(using: &random)
    }

    mutating func reset() { failures = 0 }
}
