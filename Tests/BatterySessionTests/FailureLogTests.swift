@testable import BatterySession
import Testing

/// Issue 14, item 12: the log must name the current cause of a battery's trouble.
@Suite struct FailureLogTests {
    static let bluezGone = PollFailure(.linkLost, "link lost: bluetoothd went away")
    static let outOfRange = PollFailure(.linkLost, "link lost: supervision timeout")
    static let silent = PollFailure(.timeout, "register 0x03: no reply within 1s")

    @Test func aNewCauseWithTheSameReasonIsAWarningItsRepeatsAreNot() {
        var log = FailureLog()
        #expect(log.level(for: Self.bluezGone) == .warning)
        #expect(log.level(for: Self.bluezGone) == .debug)
        #expect(log.level(for: Self.outOfRange) == .warning)
        #expect(log.level(for: Self.outOfRange) == .debug)
        #expect(log.level(for: Self.silent) == .warning)
    }

    @Test func aSuccessMakesTheNextFailureNewsAgain() {
        var log = FailureLog()
        #expect(!log.isReporting)
        #expect(log.level(for: Self.silent) == .warning)
        #expect(log.isReporting)
        log.recovered()
        #expect(!log.isReporting)
        #expect(log.level(for: Self.silent) == .warning)
    }
}
