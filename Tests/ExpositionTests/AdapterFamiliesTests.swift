import BatterySession
@testable import Exposition
import Testing

/// Issue 15: the `bms_adapter_*` families and the landing page's adapter table.
@Suite struct AdapterFamiliesTests {
    static func battery(_ name: String, adapter: String?, connected: Bool) -> BatteryStatus {
        var status = BatteryStatus(
            name: name, address: "A4:C1:38:00:00:01", maxAgeSeconds: 30, transport: adapter == nil ? .serial : .bluetooth,
            adapter: adapter)
        status.connected = connected
        return status
    }

    static let batteries = [
        battery("a", adapter: "hci0", connected: true), battery("b", adapter: "hci0", connected: true),
        battery("c", adapter: "hci0", connected: false), battery("d", adapter: "hci1", connected: false),
        battery("serial", adapter: nil, connected: true),
    ]

    static var adapters: [AdapterStatus] {
        var hci0 = AdapterStatus(name: "hci0")
        hci0.up = true
        hci0.connectTurns = 4
        hci0.connectWaitSeconds = 0.25
        var hci1 = AdapterStatus(name: "hci1")
        hci1.resets = 2
        return [hci0, hci1]
    }

    @Test func everyAdapterHasEveryFamily() {
        let text = MetricsRenderer.render(Self.batteries, now: 0, adapters: Self.adapters)
        for line in [
            #"bms_adapter_up{adapter="hci0"} 1"#, #"bms_adapter_up{adapter="hci1"} 0"#,
            #"bms_adapter_connections{adapter="hci0"} 2"#, #"bms_adapter_connections{adapter="hci1"} 0"#,
            #"bms_adapter_connect_wait_seconds_sum{adapter="hci0"} 0.25"#,
            #"bms_adapter_connect_wait_seconds_count{adapter="hci0"} 4"#,
            #"bms_adapter_resets_total{adapter="hci0"} 0"#, #"bms_adapter_resets_total{adapter="hci1"} 2"#,
            "# TYPE bms_adapter_connect_wait_seconds summary", "# TYPE bms_adapter_resets_total counter",
        ] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        // Each family's samples follow its own header, once.
        #expect(text.components(separatedBy: "# HELP bms_adapter_up ").count == 2)
    }

    @Test func noAdaptersNoFamilies() {
        let text = MetricsRenderer.render([Self.batteries[4]], now: 0)
        #expect(!text.contains("bms_adapter_"))
    }

    @Test func landingPageListsAdapters() {
        let page = LandingPage.render(Self.batteries, telemetryPath: "/metrics", now: 0, adapters: Self.adapters)
        #expect(page.contains("<h2>Bluetooth adapters</h2>"))
        #expect(page.contains(#"<tr><td>hci0</td><td class="up">up</td><td>2 of 3</td><td>63ms</td><td>0</td></tr>"#))
        #expect(page.contains(#"<tr><td>hci1</td><td class="down">down</td><td>0 of 1</td><td>–</td><td>2</td></tr>"#))
        #expect(!LandingPage.render(Self.batteries, telemetryPath: "/metrics", now: 0).contains("Bluetooth adapters"))
    }
}
