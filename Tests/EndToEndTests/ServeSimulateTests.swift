import TestSupport
import Foundation
import Testing

/// `bms_exporter serve --simulate`, as the README's run command starts it, driven over HTTP.
@Suite struct ServeSimulateTests {
    static let protections = [
        "cell_overvoltage", "cell_undervoltage", "pack_overvoltage", "pack_undervoltage", "charge_overtemperature",
        "charge_undertemperature", "discharge_overtemperature", "discharge_undertemperature", "charge_overcurrent",
        "discharge_overcurrent", "short_circuit", "frontend_error", "mosfet_software_lock", "charge_mosfet_fault",
        "discharge_mosfet_fault",
    ]

    @Test func metricsShowTheFullSetWithTheRightContentType() async throws {
        let server = try await ServerProcess.start(["--simulate", "--poll.interval", "200ms"])
        defer { server.stop() }
        let body = try await server.scrape { $0.contains("bms_info{") }
        let response = try await server.request("/metrics")
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let samples = parseExposition(body)
        #expect(samples[#"bms_up{battery="simulated"}"#] == 1)
        #expect(samples[#"bms_connected{battery="simulated"}"#] == 1)
        for family in [
            "bms_voltage_volts", "bms_current_amperes", "bms_remaining_capacity_ampere_hours",
            "bms_nominal_capacity_ampere_hours", "bms_state_of_charge_ratio", "bms_charge_cycles_total",
            "bms_last_success_timestamp_seconds", "bms_poll_duration_seconds", "bms_rssi_dbm",
            "bms_full_charge_capacity_ampere_hours", "bms_charge_energy_joules_total",
            "bms_discharge_energy_joules_total", "bms_charge_ampere_hours_total",
            "bms_discharge_ampere_hours_total", "bms_integration_gaps_total",
        ] {
            #expect(samples[family + #"{battery="simulated"}"#] != nil, "\(family) missing")
        }
        for cell in 1...4 {
            #expect(samples[#"bms_cell_voltage_volts{battery="simulated",cell="\#(cell)"}"#] != nil)
            #expect(samples[#"bms_cell_balancing{battery="simulated",cell="\#(cell)"}"#] != nil)
        }
        for protection in Self.protections {
            #expect(samples[#"bms_protection_active{battery="simulated",protection="\#(protection)"}"#] == 0)
        }
        #expect(samples[#"bms_mosfet_enabled{battery="simulated",mosfet="discharge"}"#] == 1)
        #expect(samples[#"bms_protection_events_total{battery="simulated",protection="cell_overvoltage"}"#] == 3)
        #expect(samples[#"bms_poll_failures_total{battery="simulated",reason="timeout"}"#] != nil)
        #expect(body.contains(#"bms_info{battery="simulated",address="00:00:00:00:00:00",model="JBD-SP04S034-L4S-100A-SIM",software_version="2.5",manufacture_date="2023-05-17",bank="",transport="simulated"} 1"#))
        #expect(body.contains("bms_exporter_build_info{version="))
        // Every family has HELP and TYPE exactly once.
        let families = Set(body.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.prefix { $0 != "{" && $0 != " " } })
        for family in families {
            #expect(body.components(separatedBy: "# HELP \(family) ").count == 2, "HELP of \(family)")
            #expect(body.components(separatedBy: "# TYPE \(family) ").count == 2, "TYPE of \(family)")
        }
    }

    @Test func promtoolFindsNothingButTheDocumentedUnit() async throws {
        let server = try await ServerProcess.start(["--simulate", "--poll.interval", "200ms"])
        defer { server.stop() }
        let body = try await server.scrape { $0.contains("bms_info{") }
        let unexpected = try await promtoolFindings(body)
        #expect(unexpected.isEmpty, "promtool: \(unexpected)")
    }

    @Test func pagesStatusCodesAndMethods() async throws {
        let server = try await ServerProcess.start(["--simulate", "--poll.interval", "200ms"])
        defer { server.stop() }
        let landing = try await server.scrape(until: { $0.contains(">up<") }, path: "/")
        #expect(landing.contains("href=\"/metrics\""))
        #expect(landing.contains("<td>simulated</td>"))
        #expect(try await server.request("/-/healthy").status == 200)
        #expect(try await server.request("/nope").status == 404)
        #expect(try await server.request("/metrics/extra").status == 404)
        let post = try await server.request("/metrics", method: "POST")
        #expect(post.status == 405)
        #expect(post.headers["allow"] == "GET, HEAD")
        let head = try await server.request("/metrics", method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
    }

    @Test func telemetryPathIsConfigurable() async throws {
        let server = try await ServerProcess.start(["--simulate", "--web.telemetry-path", "/bms"])
        defer { server.stop() }
        #expect(try await server.request("/bms").status == 200)
        #expect(try await server.request("/metrics").status == 404)
    }

    @Test func sigtermStopsPromptlyWithExitZero() async throws {
        let server = try await ServerProcess.start(["--simulate", "--poll.interval", "100ms"])
        _ = try await server.scrape { $0.contains("bms_up{battery=\"simulated\"} 1") }
        let started = Date()
        let status = server.stop(timeout: 10)
        #expect(status == 0, "log: \(server.log)")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(server.log.contains("stopped"))
    }
}
