import Basics

/// Energy and charge into and out of one battery, integrated between consecutive good readings.
///
/// PromQL cannot integrate a sampled gauge, so the exporter does: the trapezoid of V × I (joules)
/// and of I (ampere-hours) over each interval between two readings. An interval longer than
/// `maximumGap` is not integrated, only counted: across a long silence the current may have done
/// anything, and a guess would make the counters lie. The counters start at 0 with the exporter.
public struct EnergyIntegrator: Sendable, Equatable {
    /// One good reading, timed on the monotonic clock so that a wall-clock step never counts.
    public struct Sample: Sendable, Equatable {
        public var time: ContinuousClock.Instant
        public var volts: Double
        public var amperes: Double

        public init(time: ContinuousClock.Instant, volts: Double, amperes: Double) {
            self.time = time
            self.volts = volts
            self.amperes = amperes
        }
    }

    public private(set) var chargeJoules = 0.0
    public private(set) var dischargeJoules = 0.0
    public private(set) var chargeAmpereHours = 0.0
    public private(set) var dischargeAmpereHours = 0.0
    /// Intervals left out because they were longer than `maximumGap`.
    public private(set) var gaps = 0
    /// The reading the next interval starts from; nil before the first.
    public private(set) var previous: Sample?
    public let maximumGap: Duration

    public init(maximumGap: Duration) {
        self.maximumGap = maximumGap
    }

    /// Integrates the interval from the previous reading to `sample`, which becomes the start of the next.
    public mutating func add(_ sample: Sample) {
        defer { previous = sample }
        guard let start = previous else { return }
        let elapsed = sample.time - start.time
        // A clock that did not move (or a sample out of order) adds nothing and is not a gap.
        guard elapsed > .zero else { return }
        guard elapsed <= maximumGap else {
            gaps += 1
            return
        }
        let seconds = elapsed.seconds
        let i0 = start.amperes, i1 = sample.amperes
        if i0 * i1 < 0 {
            // The current crosses zero inside the interval: split at the crossing of its linear
            // interpolation, so each side is integrated over its own part only and a charge never
            // cancels a discharge.
            let fraction = i0 / (i0 - i1)
            let crossingVolts = start.volts + (sample.volts - start.volts) * fraction
            accumulate(fromVolts: start.volts, fromAmperes: i0, toVolts: crossingVolts, toAmperes: 0, seconds: seconds * fraction)
            accumulate(fromVolts: crossingVolts, fromAmperes: 0, toVolts: sample.volts, toAmperes: i1,
                       seconds: seconds * (1 - fraction))
        } else {
            accumulate(fromVolts: start.volts, fromAmperes: i0, toVolts: sample.volts, toAmperes: i1, seconds: seconds)
        }
    }

    /// One trapezoid over a stretch in which the current keeps its sign (or is zero at an end).
    private mutating func accumulate(fromVolts v0: Double, fromAmperes i0: Double, toVolts v1: Double, toAmperes i1: Double,
                                     seconds: Double) {
        let joules = (v0 * i0 + v1 * i1) / 2 * seconds
        let ampereHours = (i0 + i1) / 2 * seconds / 3600
        // Positive current charges the pack (the BMS's sign convention, and bms_current_amperes').
        if i0 + i1 > 0 {
            chargeJoules += joules
            chargeAmpereHours += ampereHours
        } else if i0 + i1 < 0 {
            dischargeJoules -= joules
            dischargeAmpereHours -= ampereHours
        }
    }
}
