import BatterySession
import Testing

/// The counters against integrals worked out by hand: every case has a closed form.
@Suite struct EnergyIntegratorTests {
    static let origin = ContinuousClock.now

    /// A reading `seconds` after the origin.
    static func at(_ seconds: Double, volts: Double, amperes: Double) -> EnergyIntegrator.Sample {
        .init(time: origin + .milliseconds(Int64(seconds * 1000)), volts: volts, amperes: amperes)
    }

    static func integrated(_ samples: [EnergyIntegrator.Sample], maximumGap: Duration = .seconds(30)) -> EnergyIntegrator {
        var integrator = EnergyIntegrator(maximumGap: maximumGap)
        for sample in samples { integrator.add(sample) }
        return integrator
    }

    @Test func startsAtZeroAndTheFirstReadingAddsNothing() {
        let integrator = Self.integrated([Self.at(0, volts: 13.2, amperes: 20)])
        #expect(integrator.chargeJoules == 0)
        #expect(integrator.chargeAmpereHours == 0)
        #expect(integrator.gaps == 0)
        #expect(integrator.previous != nil)
    }

    @Test func constantChargeIsVoltageTimesCurrentTimesTime() {
        // 13 V × 10 A for 3 × 10 s = 3900 J; 10 A × 30 s = 1/12 Ah.
        let integrator = Self.integrated((0...3).map { Self.at(Double($0) * 10, volts: 13, amperes: 10) })
        #expect(abs(integrator.chargeJoules - 3900) < 1e-9)
        #expect(abs(integrator.chargeAmpereHours - 30.0 / 3600 * 10) < 1e-12)
        #expect(integrator.dischargeJoules == 0)
        #expect(integrator.dischargeAmpereHours == 0)
    }

    @Test func constantDischargeCountsAsDischargeWithPositiveValues() {
        // 12.5 V × −8 A for 20 s = 2000 J out; 8 A × 20 s = 160/3600 Ah.
        let integrator = Self.integrated([Self.at(0, volts: 12.5, amperes: -8), Self.at(20, volts: 12.5, amperes: -8)])
        #expect(abs(integrator.dischargeJoules - 2000) < 1e-9)
        #expect(abs(integrator.dischargeAmpereHours - 160.0 / 3600) < 1e-12)
        #expect(integrator.chargeJoules == 0)
    }

    @Test func rampIsTheExactIntegralOfALinearCurrent() {
        // I rises 0 → 20 A over 10 s at 13 V: ∫ 13 × 2t dt over 0…10 = 1300 J; ∫ 2t dt = 100 As.
        let integrator = Self.integrated([Self.at(0, volts: 13, amperes: 0), Self.at(10, volts: 13, amperes: 20)])
        #expect(abs(integrator.chargeJoules - 1300) < 1e-9)
        #expect(abs(integrator.chargeAmpereHours - 100.0 / 3600) < 1e-12)
        #expect(integrator.dischargeJoules == 0)
    }

    @Test func signChangeIsSplitAtTheZeroCrossing() {
        // I goes +10 A → −30 A linearly over 8 s at 12 V: it crosses zero at 2 s.
        // Charge: ½ × 10 A × 2 s = 10 As → 120 J. Discharge: ½ × 30 A × 6 s = 90 As → 1080 J.
        // A plain trapezoid would net these out to one side (−80 As) and lose both.
        let integrator = Self.integrated([Self.at(0, volts: 12, amperes: 10), Self.at(8, volts: 12, amperes: -30)])
        #expect(abs(integrator.chargeAmpereHours - 10.0 / 3600) < 1e-12)
        #expect(abs(integrator.dischargeAmpereHours - 90.0 / 3600) < 1e-12)
        #expect(abs(integrator.chargeJoules - 120) < 1e-9)
        #expect(abs(integrator.dischargeJoules - 1080) < 1e-9)
    }

    @Test func signChangeUsesTheVoltageAtTheCrossing() {
        // −10 A at 12 V → +10 A at 14 V over 4 s: crossing at 2 s, where V is 13 V.
        // Discharge: trapezoid of 120 W → 0 W over 2 s = 120 J; charge: 0 → 140 W over 2 s = 140 J.
        let integrator = Self.integrated([Self.at(0, volts: 12, amperes: -10), Self.at(4, volts: 14, amperes: 10)])
        #expect(abs(integrator.dischargeJoules - 120) < 1e-9)
        #expect(abs(integrator.chargeJoules - 140) < 1e-9)
        #expect(abs(integrator.dischargeAmpereHours - 10.0 / 3600) < 1e-12)
        #expect(abs(integrator.chargeAmpereHours - 10.0 / 3600) < 1e-12)
    }

    @Test func aGapLongerThanTheBoundIsCountedNotIntegrated() {
        // 10 s, then a 31 s gap over a 30 s bound, then 10 s: only the two 10 s intervals count.
        let integrator = Self.integrated([
            Self.at(0, volts: 13, amperes: 10), Self.at(10, volts: 13, amperes: 10),
            Self.at(41, volts: 13, amperes: 10), Self.at(51, volts: 13, amperes: 10),
        ])
        #expect(integrator.gaps == 1)
        #expect(abs(integrator.chargeJoules - 2 * 1300) < 1e-9)
        #expect(abs(integrator.chargeAmpereHours - 200.0 / 3600) < 1e-12)
    }

    @Test func anIntervalOfExactlyTheBoundIsIntegrated() {
        let integrator = Self.integrated([Self.at(0, volts: 13, amperes: 10), Self.at(30, volts: 13, amperes: 10)])
        #expect(integrator.gaps == 0)
        #expect(abs(integrator.chargeJoules - 3900) < 1e-9)
    }

    @Test func zeroCurrentAndAStillClockAddNothing() {
        let integrator = Self.integrated([
            Self.at(0, volts: 13, amperes: 0), Self.at(10, volts: 13, amperes: 0), Self.at(10, volts: 13, amperes: 50),
        ])
        #expect(integrator.chargeJoules == 0)
        #expect(integrator.dischargeJoules == 0)
        #expect(integrator.gaps == 0)
    }

    @Test func aRestartIsANewIntegratorFromZero() {
        let before = Self.integrated([Self.at(0, volts: 13, amperes: 10), Self.at(10, volts: 13, amperes: 10)])
        #expect(before.chargeJoules > 0)
        // A restarted exporter knows nothing of the old counters: Prometheus' rate() and
        // increase() read the drop to 0 as a counter reset.
        let after = Self.integrated([Self.at(100, volts: 13, amperes: 10)])
        #expect(after == EnergyIntegrator(maximumGap: .seconds(30)).adding(Self.at(100, volts: 13, amperes: 10)))
        #expect(after.chargeJoules == 0)
        #expect(after.chargeAmpereHours == 0)
        #expect(after.gaps == 0)
    }
}

extension EnergyIntegrator {
    func adding(_ sample: Sample) -> EnergyIntegrator {
        var copy = self
        copy.add(sample)
        return copy
    }
}
