import JBD
import Testing

/// Every real and vendor-documented frame decodes to the values its source states.
///
/// Expected values are worked out by hand from each source (see the fixture's `source`
/// and `notes`), not copied from this decoder's output.
@Suite struct FixtureDecodingTests {
    /// Checks for each reply fixture, keyed by its hex.
    static let expectations: [String: @Sendable (Reply) -> Void] = [
        // LIONTRON LX 12.8 V 100 Ah, the values listed in docs/protocol.md.
        "dd03001b052800001bb22aef0002290a00000000000025410304020b740b6bfc3977": { reply in
            guard case let .basicInfo(info) = reply else { Issue.record("not basic info: \(reply)"); return }
            #expect(info.voltageVolts == 13.20)
            #expect(info.currentAmperes == 0)
            #expect(info.remainingCapacityAmpereHours == 70.90)
            #expect(info.nominalCapacityAmpereHours == 109.91)
            #expect(info.chargeCycles == 2)
            #expect(info.manufactureDate?.description == "2020-08-10")
            #expect(info.balancingCells.isEmpty)
            #expect(info.activeProtections.isEmpty)
            #expect(info.softwareVersion == "2.5")
            #expect(info.stateOfChargePercent == 65)
            #expect(info.chargeMosfetEnabled && info.dischargeMosfetEnabled)
            #expect(info.cellCount == 4)
            #expect(info.temperaturesCelsius == [20.1, 19.2])
            #expect(info.v11 == nil)
        },
        "dd0400080ce50ce30ce50ce8fc3377": { reply in
            expectCells(reply, [3301, 3299, 3301, 3304])
        },
        // JBD General Protocol V4 example.
        "dd03001b1700000002d003e8000020780000000000001048030f020b760b82fbff77": { reply in
            guard case let .basicInfo(info) = reply else { Issue.record("not basic info: \(reply)"); return }
            #expect(info.voltageVolts == 58.88)
            #expect(info.remainingCapacityAmpereHours == 7.20)
            #expect(info.nominalCapacityAmpereHours == 10.00)
            #expect(info.cellCount == 15)
            #expect(info.stateOfChargePercent == 72)
            #expect(info.manufactureDate?.description == "2016-03-24")
            #expect(info.softwareVersion == "1.0")
            #expect(info.chargeMosfetEnabled && info.dischargeMosfetEnabled)
            #expect(info.temperaturesCelsius == [20.3, 21.5])
        },
        "dd04001e0f660f630f630f640f3e0f630f370f5b0f650f3b0f630f630f3c0f660f3df9f977": { reply in
            expectCells(reply, [
                3942, 3939, 3939, 3940, 3902, 3939, 3895, 3931, 3941, 3899, 3939, 3939, 3900, 3942, 3901,
            ])
        },
        "dd05000a30313233343536373839fde977": { reply in
            #expect(reply == .hardwareVersion("0123456789"))
        },
        // V11 document, 17 cells, discharging. The document's T1 of 24.7 °C is its own slip: 2968 − 2731 = 237.
        "dd03001f19dff8240da50fa00002249100000000000012570311040b980ba90b960b97f89a77": { reply in
            guard case let .basicInfo(info) = reply else { Issue.record("not basic info: \(reply)"); return }
            #expect(info.voltageVolts == 66.23)
            #expect(info.currentAmperes == -20.12)
            #expect(info.remainingCapacityAmpereHours == 34.93)
            #expect(info.nominalCapacityAmpereHours == 40.00)
            #expect(info.chargeCycles == 2)
            #expect(info.softwareVersion == "1.2")
            #expect(info.stateOfChargePercent == 87)
            #expect(info.cellCount == 17)
            #expect(info.temperaturesCelsius == [23.7, 25.4, 23.5, 23.6])
        },
        "dd0400220ec80ec80ecb0ecf0eca0ec70eca0ecd0ec90eca0ecb0ecb0ec80ecc0ec80ec90ec9f18777": { reply in
            guard case let .cellVoltages(cells) = reply else { Issue.record("not cells: \(reply)"); return }
            #expect(cells.millivolts.count == 17)
            #expect(cells.millivolts.first == 3784)
        },
        // JBD-SP04S034 capture, esphome's expectations.
        "dd03001d0618000001f201f400002c7c00000000000080640304030b8b0b8a0b84fa8d77": { reply in
            guard case let .basicInfo(info) = reply else { Issue.record("not basic info: \(reply)"); return }
            #expect(info.voltageVolts == 15.60)
            #expect(info.currentAmperes == 0)
            #expect(info.remainingCapacityAmpereHours == 4.98)
            #expect(info.nominalCapacityAmpereHours == 5.00)
            #expect(info.stateOfChargePercent == 100)
            #expect(info.softwareVersion == "8.0")
            #expect(info.cellCount == 4)
            #expect(info.temperaturesCelsius == [22.4, 22.3, 21.7])
        },
        "dd0400080f450f3d0f370f3dfec677": { reply in
            expectCells(reply, [3909, 3901, 3895, 3901])
        },
        "dd0500194a42442d53503034533033342d4c34532d323030412d422d55fa0877": { reply in
            #expect(reply == .hardwareVersion("JBD-SP04S034-L4S-200A-B-U"))
        },
        "ddaa0018000000000000007a00020000000000000000000000000001ff6b77": { reply in
            guard case let .protectionCounters(counters) = reply else { Issue.record("not counters: \(reply)"); return }
            #expect(counters.counts[.shortCircuit] == 0)
            #expect(counters.counts[.chargeOvercurrent] == 0)
            #expect(counters.counts[.dischargeOvercurrent] == 0)
            #expect(counters.counts[.cellOvervoltage] == 122)
            #expect(counters.counts[.cellUndervoltage] == 2)
            #expect(counters.systemRestarts == 1)
        },
        // ECO-WORTHY DP04S007 with the 9-byte V11 extension after one probe.
        "dd030022055f00004adf4e2000022d1400000000000023600304010bb10000004e204adf0000fac277": { reply in
            guard case let .basicInfo(info) = reply else { Issue.record("not basic info: \(reply)"); return }
            #expect(info.voltageVolts == 13.75)
            #expect(info.remainingCapacityAmpereHours == 191.67)
            #expect(info.nominalCapacityAmpereHours == 200.00)
            #expect(info.temperaturesCelsius == [26.2])
            #expect(info.v11?.humidityPercent == 0)
            #expect(info.v11?.alarmStatus == 0)
            #expect(info.v11?.fullChargeCapacityAmpereHours == 200.00)
            #expect(info.v11?.remainingCapacityAmpereHours == 191.67)
            #expect(info.v11?.balanceCurrentAmperes == 0)
        },
        // Overkill 16S over UART, no probe configured: the minimal 23-byte payload.
        "dd030017000000000000271000002c500000000000002000011000ff0577": { reply in
            guard case let .basicInfo(info) = reply else { Issue.record("not basic info: \(reply)"); return }
            #expect(info.voltageVolts == 0)
            #expect(info.nominalCapacityAmpereHours == 100.00)
            #expect(info.manufactureDate?.description == "2022-02-16")
            #expect(info.softwareVersion == "2.0")
            #expect(info.stateOfChargePercent == 0)
            #expect(info.chargeMosfetEnabled && !info.dischargeMosfetEnabled)
            #expect(info.cellCount == 16)
            #expect(info.temperaturesCelsius.isEmpty)
        },
        "dd0400200e100e100e100e100e100e100e100e100e100e100e100e100e100e100e100000fe1e77": { reply in
            expectCells(reply, Array(repeating: 3600, count: 15) + [0])
        },
        // Error answers are results, not failures.
        "dd248100ff7f77": { reply in
            #expect(reply == .error(register: 0x24, status: ReplyStatus(0x81)))
        },
        "dd058000ff8077": { reply in
            #expect(reply == .error(register: 0x05, status: ReplyStatus(0x80)))
        },
    ]

    @Test(arguments: FrameFixture.validReplies)
    func fixtureDecodesToItsSourceValues(fixture: FrameFixture) throws {
        let expectation = try #require(Self.expectations[fixture.hex], "no expectation written for this fixture")
        let frame = try Frame.parse(fixture.bytes)
        #expect(hexByte(frame.register) == fixture.register)
        expectation(try Reply(decoding: frame))
    }

    @Test func everyExpectationBelongsToAFixture() {
        let fixtureHex = Set(FrameFixture.validReplies.map(\.hex))
        #expect(Set(Self.expectations.keys) == fixtureHex)
    }

    @Test(arguments: FrameFixture.all.filter { !$0.checksumValid })
    func negativeFixtureIsRejected(fixture: FrameFixture) {
        #expect(throws: FrameError.self) { try Frame.parse(fixture.bytes) }
        var assembler = FrameAssembler()
        let events = assembler.events(feeding: [fixture.bytes])
        #expect(events.allSatisfy { $0.frame == nil })
        #expect(events.contains { if case .failure(.badChecksum) = $0 { true } else { false } })
    }

    @Test(arguments: FrameFixture.all.filter(\.checksumValid))
    func parsedFrameReencodesToTheSameBytes(fixture: FrameFixture) throws {
        #expect(try Frame.parse(fixture.bytes).bytes == fixture.bytes)
    }
}

private func expectCells(_ reply: Reply, _ millivolts: [Int], sourceLocation: SourceLocation = #_sourceLocation) {
    guard case let .cellVoltages(cells) = reply else {
        Issue.record("not cell voltages: \(reply)", sourceLocation: sourceLocation)
        return
    }
    #expect(cells.millivolts == millivolts, sourceLocation: sourceLocation)
}
