import Foundation
import TestSupport
import Testing

/// Issue 14, item 2: SIGHUP reloads the config instead of killing `serve` with every battery
/// still connected.
@Suite struct ReloadTests {
    @Test func sighupDropsARemovedBatteryKeepsTheOtherAndSigtermStillExitsZero() async throws {
        let rig = try await ServeBluetoothTests.startRig()
        defer { rig.stop() }
        _ = try await rig.samples(within: 20, until: {
            $0[#"bms_up{battery="house"}"#] == 1 && $0[#"bms_up{battery="starter"}"#] == 1
        })
        let houseConnects = try await rig.fake.state(ServeBluetoothTests.house)["connect_count"] as? Int

        // An invalid config first: logged, and the running config stays.
        try rig.directory.write("config.yml", "batteries:\n  - name: house\n    address: not-a-mac\n")
        kill(rig.server.pid, SIGHUP)
        #expect(await rig.logShows("reloading the config failed"))
        #expect(rig.server.isRunning)

        try rig.directory.write("config.yml", """
        poll_interval: 300ms
        batteries:
          - name: house
            address: \(ServeBluetoothTests.house)
            bank: van
        """)
        let reloaded = ContinuousClock.now
        kill(rig.server.pid, SIGHUP)
        let starter = try await rig.fakeState(ServeBluetoothTests.starter, within: .seconds(15)) {
            $0["connected"] as? Bool == false && $0["connect_pending"] as? Bool == false
        }.state
        #expect(starter["connected"] as? Bool == false, "the battery the new config lacks is still connected")
        print("SIGHUP → removed battery disconnected after \(ContinuousClock.now - reloaded)")
        let body = try await rig.server.scrape(until: { !$0.contains(#"battery="starter""#) && $0.contains(#"bms_up{battery="house"} 1"#) })
        #expect(!body.contains(#"battery="starter""#))
        #expect(body.contains(#"bms_up{battery="house"} 1"#))
        // The unchanged battery kept its link: no reconnect.
        #expect(try await rig.fake.state(ServeBluetoothTests.house)["connect_count"] as? Int == houseConnects)
        #expect(rig.server.isRunning)

        let stopping = ContinuousClock.now
        #expect(rig.server.stop() == 0)
        print("SIGTERM after the reload: exit 0 after \(ContinuousClock.now - stopping)")
        let house = try await rig.fake.state(ServeBluetoothTests.house)
        #expect(house["connected"] as? Bool == false)
    }
}
