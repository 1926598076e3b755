import Foundation
import TestSupport
import Testing

/// The real binary with batteries on serial lines (the fake serial BMS on a pty) beside
/// Bluetooth ones (the fake BlueZ).
@Suite struct SerialTransportTests {
    static let address = "A4:C1:38:00:00:07"
    static var values: [String: Any] { BatteryFixture.distinctive }
    /// The Bluetooth battery, behind the fake BlueZ.
    static var bluetoothBattery: FakeBattery { FakeBattery(["address": address, "bms": values]) }

    /// The same battery values behind both transports print byte-for-byte the same output.
    @Test(arguments: ["json", "seed"])
    func readDevicePrintsWhatReadAddressPrints(_ format: String) async throws {
        let rig = try await ExporterRig.start([Self.bluetoothBattery], serve: false)
        defer { rig.stop() }
        let serial = try await FakeSerialLine.start(battery: ["bms": Self.values])
        let overBluetooth = try await rig.run(["read", "--address", Self.address, "--format", format])
        let overSerial = try await BinaryUnderTest.run(["read", "--device", serial.link, "--format", format])
        await serial.close()
        #expect(overBluetooth.status == 0, "stderr: \(overBluetooth.stderr)")
        #expect(overSerial.status == 0, "stderr: \(overSerial.stderr)")
        #expect(overSerial.stderr.isEmpty)
        #expect(!overSerial.stdout.isEmpty && overSerial.stdout == overBluetooth.stdout)
        #expect(rig.fake.forbiddenWrites().isEmpty)
    }

    @Test func readDeviceNamesAMissingDevice() async throws {
        let output = try await BinaryUnderTest.run(["read", "--device", "/dev/serial/by-id/usb-none-if00-port0"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("/dev/serial/by-id/usb-none-if00-port0 does not exist"))
        #expect(output.stderr.contains("(not_found)"))
    }

    /// One Bluetooth and one serial battery in one config. Their values change every round and
    /// every scrape must show, for each battery, either the values before or after the change:
    /// never anything else. Serial silence and an unplug must not slow the Bluetooth battery.
    @Test func bluetoothAndSerialServedTogetherAndIndependently() async throws {
        let serial = try await FakeSerialLine.start(battery: ["bms": Self.values])
        let rig = try await ExporterRig.start([Self.bluetoothBattery], config: """
        poll_interval: 300ms
        batteries:
          - name: house
            address: \(Self.address)
          - name: van
            device: \(serial.link)
            baud: 9600
        """)
        defer { rig.stop() }
        let (bluez, server) = (rig.fake, rig.server)
        var checker = ValueChecker(server: server, expected: ["house": 3401, "van": 3401])

        for round in 1...4 {
            let house = 3500 + round, van = 3600 + round
            try await bluez.setBMS(Self.address, ["cells_mv": [house, 3402, 3398, 3405]])
            try await serial.setBMS(["cells_mv": [van, 3402, 3398, 3405]])
            let seen = try await checker.scrape(until: ["house": house, "van": van])
            #expect(seen != nil, "round \(round): new values not served within the bound")
        }
        let info = try await server.request("/metrics").body
        #expect(info.contains(#"bms_info{battery="van",address="\#(serial.link)",model="JBD-E2E-4S",software_version="2.6",manufacture_date="2022-03-28",bank="",transport="serial"} 1"#))
        #expect(info.contains(#"manufacture_date="2022-03-28",bank="",transport="bluetooth"} 1"#))

        // Silence on the line: the Bluetooth battery keeps up, the serial one goes down.
        try await serial.setFaults(["silent": true])
        let silentHouse = 3700
        try await bluez.setBMS(Self.address, ["cells_mv": [silentHouse, 3402, 3398, 3405]])
        let houseDuringSilence = try await checker.scrape(until: ["house": silentHouse], bound: 3)
        #expect(houseDuringSilence != nil && houseDuringSilence! < 3, "house took \(houseDuringSilence ?? -1) s while van was silent")
        try await serial.setFaults(["silent": false])

        // Unplugged, then back under another pty number behind the same link.
        try await serial.command(["cmd": "unplug"])
        let unpluggedHouse = 3701
        try await bluez.setBMS(Self.address, ["cells_mv": [unpluggedHouse, 3402, 3398, 3405]])
        let houseDuringUnplug = try await checker.scrape(until: ["house": unpluggedHouse], bound: 3)
        #expect(houseDuringUnplug != nil, "house stalled while van was unplugged")
        let down = try await server.scrape(until: { $0.contains(#"bms_up{battery="van"} 0"#) }, timeout: 10)
        #expect(down.contains(#"bms_up{battery="van"} 0"#))
        try await serial.setBMS(["cells_mv": [3801, 3402, 3398, 3405]])
        try await serial.command(["cmd": "replug"])
        let recovery = try await checker.scrape(until: ["van": 3801], bound: 10)
        #expect(recovery != nil, "van did not recover after the replug")
        print("serial replug: van served again after \(recovery ?? -1) s; silence: house after \(houseDuringSilence ?? -1) s")
        let body = try await server.request("/metrics").body
        #expect(body.contains(#"bms_poll_failures_total{battery="van",reason="timeout"}"#))
        #expect(body.contains(#"bms_poll_failures_total{battery="van",reason="link_lost"}"#))
        #expect(checker.wrong.isEmpty, "wrong values served: \(checker.wrong)")
        await serial.close()
        #expect(bluez.forbiddenWrites().isEmpty)
    }
}

/// Scrapes and compares cell 1 of each battery with what the fakes hold: the value set last,
/// or the one before while the change makes its way to a poll. Anything else is wrong.
struct ValueChecker {
    let server: ServerProcess
    var expected: [String: Int]
    var previous: [String: Int] = [:]
    var wrong: [String] = []

    init(server: ServerProcess, expected: [String: Int]) {
        self.server = server
        self.expected = expected
    }

    /// Sets new targets and scrapes until all are served; the seconds it took, nil past `bound`.
    mutating func scrape(until targets: [String: Int], bound: Double = 10) async throws -> Double? {
        for (battery, value) in targets {
            previous[battery] = expected[battery]
            expected[battery] = value
        }
        let started = Date()
        while Date().timeIntervalSince(started) < bound {
            let samples = parseExposition(try await server.request("/metrics").body)
            var reached = true
            for (battery, value) in expected {
                guard let served = samples[#"bms_cell_voltage_volts{battery="\#(battery)",cell="1"}"#] else {
                    if targets[battery] != nil { reached = false }
                    continue
                }
                let millivolts = Int((served * 1000).rounded())
                if millivolts != value && millivolts != previous[battery] {
                    wrong.append("\(battery): \(millivolts) mV, expected \(value) or \(previous[battery] ?? -1)")
                }
                if targets[battery] != nil && millivolts != value { reached = false }
            }
            if reached {
                for battery in targets.keys { previous[battery] = nil }
                return Date().timeIntervalSince(started)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
