import BatterySession
import CLIOutput
import JBD
import Testing

/// Issue 14, item 8: `read --format seed` says nothing rather than a wrong state of charge.
@Suite struct SeedOutputTests {
    static func reading(remaining: UInt16, nominal: UInt16) throws -> Reading {
        let info = ReplyEncoding.basicInfo(.init(
            centivolts: 1320, centiamperes: 0, remainingCentiampereHours: remaining, nominalCentiampereHours: nominal,
            cycles: 0, manufactureDate: (2020, 8, 10), balancingCells: [], protectionStatus: 0, softwareVersion: 0x25,
            stateOfChargePercent: 0, chargeMosfet: true, dischargeMosfet: true, cellCount: 4, deciKelvin: [2932]
        ))
        guard case let .basicInfo(basic) = try Reply(decoding: info),
              case let .cellVoltages(cells) = try Reply(decoding: ReplyEncoding.cellVoltages(millivolts: [3300, 3300, 3300, 3300]))
        else { throw Unexpected() }
        return try Reading(basicInfo: basic, cells: cells, model: nil, protectionCounters: nil, timestamp: 0)
    }

    struct Unexpected: Error {}

    @Test func noNominalCapacityMeansNoStateOfCharge() throws {
        let text = ReadingOutput.seed(try Self.reading(remaining: 5000, nominal: 0)).serialized
        #expect(!text.contains("SoC"))
        #expect(text.contains("\"NominalAh\":0"))
    }

    @Test func stateOfChargeIsRemainingOverNominal() throws {
        let text = ReadingOutput.seed(try Self.reading(remaining: 7090, nominal: 10991)).serialized
        #expect(text.contains("\"SoC\":64.51"))
    }
}
