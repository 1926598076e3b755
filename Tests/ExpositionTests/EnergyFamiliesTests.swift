import BatterySession
@testable import Exposition
import Testing

@Suite struct EnergyFamiliesTests {
    static let families = [
        "bms_charge_energy_joules_total", "bms_discharge_energy_joules_total", "bms_charge_ampere_hours_total",
        "bms_discharge_ampere_hours_total", "bms_integration_gaps_total",
    ]

    @Test func absentUntilTheFirstGoodReading() {
        let status = BatteryStatus(name: "house", address: "A4:C1:38:00:00:01", maxAgeSeconds: 30)
        let text = MetricsRenderer.render([status], now: 1000)
        for family in Self.families { #expect(!text.contains(family), "\(family)") }
    }

    @Test func countersAreRenderedAsCountersWithHelpAndKeptWhileStale() {
        var status = BatteryStatus(name: "house", address: "A4:C1:38:00:00:01", maxAgeSeconds: 30)
        let start = ContinuousClock.now
        // 12 V: 30 s at +12 A (4320 J, 0.1 Ah), a 40 s gap over the 30 s bound, then 18 s at −20 A (4320 J, 0.1 Ah).
        for (offset, amperes) in [(0, 12.0), (30, 12.0), (70, -20.0), (88, -20.0)] {
            status.energy.add(.init(time: start + .seconds(offset), volts: 12, amperes: amperes))
        }
        // No fresh reading at all: the counters still say what they counted.
        let text = MetricsRenderer.render([status], now: 1000)
        #expect(text.contains("# TYPE bms_charge_energy_joules_total counter\n"))
        #expect(text.contains("# HELP bms_integration_gaps_total "))
        #expect(text.contains("bms_charge_energy_joules_total{battery=\"house\"} 4320\n"))
        #expect(text.contains("bms_discharge_energy_joules_total{battery=\"house\"} 4320\n"))
        #expect(text.contains("bms_charge_ampere_hours_total{battery=\"house\"} 0.1\n"))
        #expect(text.contains("bms_discharge_ampere_hours_total{battery=\"house\"} 0.1\n"))
        #expect(text.contains("bms_integration_gaps_total{battery=\"house\"} 1\n"))
        #expect(!text.contains("bms_voltage_volts"))
    }

    @Test func bmsInfoCarriesBankAndTransport() {
        var status = BatteryStatus(name: "house", address: "A4:C1:38:00:00:01", maxAgeSeconds: 30, bank: "van",
                                   transport: .simulated)
        status.reading = MetricsRendererTests.liontron
        status.lastPollSucceeded = true
        let text = MetricsRenderer.render([status], now: 1010)
        #expect(text.contains(#"manufacture_date="2020-08-10",bank="van",transport="simulated"} 1"#), "\(text)")
    }
}
