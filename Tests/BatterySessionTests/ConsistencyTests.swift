@testable import BatterySession
import JBD
import Testing

/// Issue 14, item 3: a valid frame that is not the answer must not become the reading.
@Suite struct ConsistencyTests {
    /// The frame the adversarial run injected: valid checksum, the right register, wrong pack.
    static let foreignCells = ReplyEncoding.cellVoltages(millivolts: [1111, 2222, 3333, 4444])

    @Test func aValidUnaskedCellFrameBeforeTheAnswerMakesTheReadingInconsistent() async {
        let link = ScriptedLink()
        link.script(.cellVoltages, .strayThenAnswer(Self.foreignCells))
        await #expect {
            _ = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(200))
        } throws: { error in
            guard let failure = error as? PollFailure else { return false }
            return failure.reason == .inconsistent && failure.message.contains("11110 mV")
                && failure.message.contains("13200 mV")
        }
    }

    @Test func aFrameBegunBeforeTheRequestIsNotCompletedIntoItsAnswer() async throws {
        // Consistent with the pack (4 × 3.3 V = 13.2 V), so only the timing can reject it.
        let plausibleStray = ReplyEncoding.cellVoltages(millivolts: [3300, 3300, 3300, 3300])
        let link = ScriptedLink()
        link.script(.basicInfo, .answerThenSplitStray(plausibleStray))
        let reading = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(200))
        #expect(reading.cells.millivolts == [3301, 3299, 3301, 3304])
    }

    @Test func toleranceIsFivePercentAndAtLeastHalfAVolt() {
        #expect(Reading.voltageTolerance(packVolts: 13.2) == 13.2 * 0.05)
        #expect(Reading.voltageTolerance(packVolts: 6.0) == 0.5)
        #expect(Reading.voltageMismatch(packVolts: 13.2, cellMillivolts: [3400, 3400, 3400, 3400]) == nil)
        #expect(Reading.voltageMismatch(packVolts: 13.2, cellMillivolts: [3500, 3500, 3500, 3500]) != nil)
        #expect(Reading.voltageMismatch(packVolts: 52.8, cellMillivolts: Array(repeating: 3150, count: 16)) == nil)
        #expect(Reading.voltageMismatch(packVolts: 52.8, cellMillivolts: Array(repeating: 3100, count: 16)) != nil)
    }

    @Test func aDeadCellTapIsServedAsReportedNotCalledInconsistent() {
        #expect(Reading.voltageMismatch(packVolts: 13.2, cellMillivolts: [3300, 0, 3300, 3300]) == nil)
    }
}
