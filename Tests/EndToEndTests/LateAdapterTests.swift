import Foundation
import TestSupport
import Testing

/// Issue 14, item 6: an adapter that appears after start-up is picked up; a typo still stops it.
@Suite struct LateAdapterTests {
    static let address = "A4:C1:38:00:00:06"

    @Test func serveWithNoAdapterYetKeepsRetryingAndPicksItUp() async throws {
        let rig = try await ExporterRig<FakeBattery>.start(
            [], arguments: ["--bms.address", Self.address, "--poll.interval", "300ms"], defaultAdapter: false)
        defer { rig.stop() }
        #expect(rig.server.log.contains("no Bluetooth adapter yet"))
        #expect(try await rig.server.request("/-/healthy").status == 200)

        try await rig.fake.addAdapter("hci0")
        _ = try await rig.fake.addBattery(["address": Self.address, "name": "xiaoxiang BMS"])
        let body = try await rig.server.scrape(until: { $0.contains(#"bms_up{battery="battery"} 1"#) })
        #expect(body.contains(#"bms_up{battery="battery"} 1"#))
        #expect(rig.server.stop() == 0)
    }

    /// The startup error lists the adapters BlueZ has.
    @Test func anAdapterNameBlueZDoesNotKnowAmongOthersIsATypo() async throws {
        let rig = try await ExporterRig<FakeBattery>.start([], serve: false)
        defer { rig.stop() }
        let result = try await rig.run(
            ["serve", "--bms.address", Self.address, "--bluez.adapter", "hci7", "--web.listen-address", "127.0.0.1:0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("hci7"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("hci0"), "stderr: \(result.stderr)")
    }
}
