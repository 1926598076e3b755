import Foundation
import TestSupport
import Testing

/// Issue 14, item 6: an adapter that appears after start-up is picked up; a typo still stops it.
@Suite struct LateAdapterTests {
    static let address = "A4:C1:38:00:00:06"

    @Test func serveWithNoAdapterYetKeepsRetryingAndPicksItUp() async throws {
        let fake = try await FakeBlueZ.start(defaultAdapter: false)
        defer { fake.stop() }
        let server = try await ServerProcess.start(
            ["--bms.address", Self.address, "--poll.interval", "300ms"],
            environment: ["DBUS_SYSTEM_BUS_ADDRESS": fake.busAddress]
        )
        defer { server.stop() }
        #expect(server.log.contains("no Bluetooth adapter yet"))
        #expect(try await server.request("/-/healthy").status == 200)

        try await fake.addAdapter("hci0")
        _ = try await fake.addBattery(["address": Self.address, "name": "xiaoxiang BMS"])
        let body = try await server.scrape(until: { $0.contains(#"bms_up{battery="battery"} 1"#) })
        #expect(body.contains(#"bms_up{battery="battery"} 1"#))
        #expect(server.stop() == 0)
    }

    @Test func anAdapterNameBlueZDoesNotKnowAmongOthersIsATypo() async throws {
        let fake = try await FakeBlueZ.start()
        defer { fake.stop() }
        let result = try await BinaryUnderTest.run(
            ["serve", "--bms.address", Self.address, "--bluez.adapter", "hci7", "--web.listen-address", "127.0.0.1:0"],
            environment: ["DBUS_SYSTEM_BUS_ADDRESS": fake.busAddress]
        )
        #expect(result.status == 2)
        #expect(result.stderr.contains("hci0"))
    }
}
