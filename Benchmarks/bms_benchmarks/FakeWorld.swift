import TestSupport
import Foundation

/// The fake BlueZ on its private bus with n batteries of 16 cells and every delay at zero,
/// so that what is left of a poll is our own work plus the D-Bus round trips.
struct FakeWorld {
    let fake: FakeBlueZ
    let addresses: [String]

    static func start(batteries: Int) async throws -> FakeWorld {
        let fake = try await FakeBlueZ.start(delays: FakeBlueZ.zeroDelays)
        var addresses: [String] = []
        do {
            for index in 0..<batteries {
                let suffix = String(index + 1, radix: 16, uppercase: true)
                let address = "A4:C1:38:00:00:" + (suffix.count < 2 ? "0" + suffix : suffix)
                try await fake.addBattery([
                    "address": address, "name": "xiaoxiang BMS", "known": true,
                    "bms": ["cells_mv": (0..<Fixtures.cellCount).map { 3318 + ($0 * 7) % 13 },
                            "temps_c": [20.3, 21.0, 19.8]],
                ])
                addresses.append(address)
            }
        } catch {
            fake.stop()
            throw error
        }
        return FakeWorld(fake: fake, addresses: addresses)
    }

    /// A config file listing every battery, in the fake's temp dir.
    func configFile(pollInterval: String) throws -> String {
        var text = "poll_interval: \(pollInterval)\nbatteries:\n"
        for (index, address) in addresses.enumerated() {
            text += "  - name: battery-\(index + 1)\n    address: \(address)\n"
        }
        let path = fake.directory.appendingPathComponent("bms_exporter.yml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// 0x04 requests the fake has answered, summed over batteries: one per poll (keep-alives read 0x03).
    func polls() async throws -> Int {
        var total = 0
        for address in addresses {
            let requests = try await fake.state(address)["requests"] as? [String: Any] ?? [:]
            total += requests["dda50400fffc77"] as? Int ?? 0
        }
        return total
    }

    /// The fake's python process and its bus daemon: their CPU is not ours, but it is reported.
    var helperPIDs: (fake: Int32?, bus: Int32?) {
        let socket = fake.busAddress.replacingOccurrences(of: "unix:path=", with: "")
        let fakePID = ProcessStats.processes(matching: ["fake_bluez.py", socket]).first
        let busPID = ProcessStats.processes(matching: ["dbus-daemon", socket]).first
        return (fakePID, busPID)
    }

    func stop() { fake.stop() }
}
