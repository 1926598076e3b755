import Foundation
import Testing

/// `serve --simulate=SCENARIO` through the real binary and /metrics: what an alert rehearsal sees.
@Suite struct ServeScenarioTests {
    static let soc = #"bms_state_of_charge_ratio{battery="simulated"}"#
    static let up = #"bms_up{battery="simulated"}"#

    @Test func silentLowGoesLowThenSilentThenComesBackCharged() async throws {
        let server = try await ServerProcess.start([
            "--simulate=silent-low", "--poll.interval", "1s", "--simulate.silence", "8",
        ])
        defer { server.stop() }
        // Low: 5 % while still answering, the energy counters running.
        let low = parseExposition(try await server.scrape(until: { parseExposition($0)[Self.soc] == 0.05 }))
        #expect(low[Self.soc] == 0.05, "log: \(server.log)")
        #expect(low[Self.up] == 1)
        #expect((low[#"bms_discharge_energy_joules_total{battery="simulated"}"#] ?? 0) > 0)
        #expect((low[#"bms_discharge_ampere_hours_total{battery="simulated"}"#] ?? 0) > 0)
        #expect(low[#"bms_alarm_active{battery="simulated",alarm="low_capacity"}"#] == 1)
        // Silent: bms_up 0, polls failing as timeouts, the SoC series gone, the counters kept.
        let silent = parseExposition(try await server.scrape(until: {
            let samples = parseExposition($0)
            return samples[Self.up] == 0 && samples[Self.soc] == nil
        }))
        #expect(silent[Self.up] == 0)
        #expect(silent[Self.soc] == nil)
        #expect((silent[#"bms_poll_failures_total{battery="simulated",reason="timeout"}"#] ?? 0) >= 1)
        #expect(silent[#"bms_discharge_energy_joules_total{battery="simulated"}"#] != nil)
        // Back: charged and healthy. The silence outlasted 3 poll intervals, so it is one gap.
        let back = parseExposition(try await server.scrape(until: { parseExposition($0)[Self.soc] == 0.85 }))
        #expect(back[Self.soc] == 0.85)
        #expect(back[Self.up] == 1)
        #expect((back[#"bms_current_amperes{battery="simulated"}"#] ?? 0) > 0)
        #expect(back[#"bms_integration_gaps_total{battery="simulated"}"#] == 1)
    }

    @Test func protectionShowsTheShortCircuitAndTheDischargeMosfetOff() async throws {
        let server = try await ServerProcess.start(["--simulate", "protection", "--poll.interval", "1s"])
        defer { server.stop() }
        let tripped = parseExposition(try await server.scrape(until: { $0.contains("bms_mosfet_enabled{") }))
        #expect(tripped[#"bms_protection_active{battery="simulated",protection="short_circuit"}"#] == 1)
        #expect(tripped[#"bms_mosfet_enabled{battery="simulated",mosfet="discharge"}"#] == 0)
    }
}
