import BatterySession
@testable import Exposition
import JBD
import Testing
import TestSupport

@Suite struct MetricsRendererTests {
    static let liontron = try! Reading(
        basicInfo: basicInfo("dd03001b052800001bb22aef0002290a00000000000025410304020b740b6bfc3977"),
        cells: cells("dd0400080ce50ce30ce50ce8fc3377"), model: "LX", protectionCounters: nil, timestamp: 1000
    )

    static func status(_ name: String, reading: Reading?, succeeded: Bool = true) -> BatteryStatus {
        var status = BatteryStatus(name: name, address: "A4:C1:38:00:00:01", maxAgeSeconds: 30)
        status.reading = reading
        status.lastPollSucceeded = succeeded
        status.connected = true
        return status
    }

    @Test func freshReadingIsServedWithEveryProtectionFlag() {
        let text = MetricsRenderer.render([Self.status("house", reading: Self.liontron)], now: 1010)
        #expect(text.contains("bms_up{battery=\"house\"} 1\n"))
        #expect(text.contains("bms_voltage_volts{battery=\"house\"} 13.2\n"))
        #expect(text.contains("bms_remaining_capacity_ampere_hours{battery=\"house\"} 70.9\n"))
        #expect(text.contains("bms_state_of_charge_ratio{battery=\"house\"} 0.65\n"))
        #expect(text.contains("bms_cell_voltage_volts{battery=\"house\",cell=\"4\"} 3.304\n"))
        #expect(text.contains("bms_temperature_celsius{battery=\"house\",sensor=\"2\"} 19.2\n"))
        #expect(text.contains("bms_last_success_timestamp_seconds{battery=\"house\"} 1000\n"))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("bms_protection_active{") }.count == 15)
        // No V11 extension in this frame: its families are absent rather than zero.
        #expect(!text.contains("bms_full_charge_capacity_ampere_hours"))
        #expect(!text.contains("bms_alarm_active"))
    }

    @Test func staleReadingDropsDeviceSeriesButKeepsHealth() {
        let text = MetricsRenderer.render([Self.status("house", reading: Self.liontron)], now: 1031)
        #expect(text.contains("bms_up{battery=\"house\"} 0\n"))
        #expect(text.contains("bms_connected{battery=\"house\"} 1\n"))
        #expect(text.contains("bms_last_success_timestamp_seconds{battery=\"house\"} 1000\n"))
        #expect(text.contains("bms_poll_failures_total{battery=\"house\",reason=\"timeout\"} 0\n"))
        for family in ["bms_voltage_volts", "bms_cell_voltage_volts", "bms_protection_active", "bms_info"] {
            #expect(!text.contains(family + "{"), "\(family) should be gone")
            #expect(!text.contains("# HELP " + family + " "), "\(family) header should be gone")
        }
    }

    @Test func failedLatestPollIsDownEvenWithAFreshReading() {
        let text = MetricsRenderer.render([Self.status("house", reading: Self.liontron, succeeded: false)], now: 1001)
        #expect(text.contains("bms_up{battery=\"house\"} 0\n"))
        #expect(text.contains("bms_voltage_volts{battery=\"house\"} 13.2\n"))
    }

    @Test func familiesStayTogetherAcrossBatteriesAndHeadersAppearOnce() {
        let text = MetricsRenderer.render(
            [Self.status("house", reading: Self.liontron), Self.status("starter", reading: Self.liontron)], now: 1001
        )
        let lines = text.split(separator: "\n")
        var seen: [Substring] = []
        for line in lines where !line.hasPrefix("#") {
            let family = line.prefix { $0 != "{" && $0 != " " }
            if seen.last != family {
                #expect(!seen.contains(family), "\(family) is split")
                seen.append(family)
            }
        }
        #expect(lines.filter { $0 == "# TYPE bms_up gauge" }.count == 1)
        #expect(text.contains("bms_up{battery=\"starter\"} 1\n"))
    }

    @Test func labelValuesAreEscaped() {
        var status = Self.status("van \"rear\"\\2", reading: nil)
        status.lastPollSucceeded = false
        let text = MetricsRenderer.render([status], now: 0)
        #expect(text.contains(#"bms_up{battery="van \"rear\"\\2"} 0"#))
    }

    @Test func numbersAreWrittenAsPrometheusReadsThem() {
        #expect(SampleWriter.format(1) == "1")
        #expect(SampleWriter.format(-20.12) == "-20.12")
        #expect(SampleWriter.format(0.65) == "0.65")
        #expect(SampleWriter.format(.nan) == "NaN")
        #expect(SampleWriter.format(-.infinity) == "-Inf")
        #expect(SampleWriter.format(1_795_712_498.369) == "1795712498.369")
    }
}

func basicInfo(_ hex: String) -> BasicInfo {
    guard case let .basicInfo(info) = try? Reply(decoding: Frame.parse(bytesFromHex(hex))) else { fatalError(hex) }
    return info
}

func cells(_ hex: String) -> CellVoltages {
    guard case let .cellVoltages(cells) = try? Reply(decoding: Frame.parse(bytesFromHex(hex))) else { fatalError(hex) }
    return cells
}
