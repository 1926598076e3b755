import BatterySession
import JBD

/// The battery every benchmark uses: a 16-cell LiFePO4 pack (51.2 V, 200 Ah) with three
/// temperature probes, two cells balancing, protection counters and a model string, so
/// every family of `/metrics` except the V11-only ones has samples.
enum Fixtures {
    static let cellCount = 16

    static let basicInfoFrame: Frame = ReplyEncoding.basicInfo(.init(
        centivolts: 5318, centiamperes: -1234, remainingCentiampereHours: 14211, nominalCentiampereHours: 20000,
        cycles: 87, manufactureDate: (2023, 5, 17), balancingCells: [3, 11], protectionStatus: 0,
        softwareVersion: 0x25, stateOfChargePercent: 71, chargeMosfet: true, dischargeMosfet: true,
        cellCount: UInt8(cellCount), deciKelvin: [2934, 2941, 2929]
    ))

    static let cellVoltagesFrame: Frame = ReplyEncoding.cellVoltages(
        millivolts: (0..<cellCount).map { UInt16(3318 + ($0 * 7) % 13) }
    )

    static let hardwareVersionFrame = ReplyEncoding.hardwareVersion("JBD-SP16S020-L16S-200A-B-U")

    static let protectionCountersFrame = ReplyEncoding.protectionCounters(
        [.cellOvervoltage: 3, .dischargeOvercurrent: 1, .cellUndervoltage: 2], systemRestarts: 5
    )

    /// A reply as the BMS sends it: 20-byte notifications, each its own array as a link hands it over.
    static func notifications(_ frame: Frame, size: Int = 20) -> [[UInt8]] {
        let bytes = frame.bytes
        return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
    }

    static func reading(timestamp: Double) -> Reading {
        guard case let .basicInfo(info) = try? Reply(decoding: basicInfoFrame),
              case let .cellVoltages(cells) = try? Reply(decoding: cellVoltagesFrame),
              case let .hardwareVersion(model) = try? Reply(decoding: hardwareVersionFrame),
              case let .protectionCounters(counters) = try? Reply(decoding: protectionCountersFrame),
              let reading = try? Reading(basicInfo: info, cells: cells, model: model, protectionCounters: counters,
                                         timestamp: timestamp)
        else { fatalError("benchmark fixture frames do not decode") }
        return reading
    }

    /// `count` batteries, all up and fresh at `now`, with some failures counted.
    static func statuses(_ count: Int, now: Double) -> [BatteryStatus] {
        let reading = reading(timestamp: now - 2)
        return (0..<count).map { index in
            let suffix = String(index + 1, radix: 16, uppercase: true)
            var status = BatteryStatus(
                name: "battery-\(index + 1)",
                address: "A4:C1:38:00:00:" + (suffix.count < 2 ? "0" + suffix : suffix),
                maxAgeSeconds: 30
            )
            status.connected = true
            status.rssi = -61 - index % 20
            status.reading = reading
            status.lastPollSucceeded = true
            status.lastPollDurationSeconds = 0.243
            status.failures = [.timeout: 3, .checksum: 1]
            return status
        }
    }
}
