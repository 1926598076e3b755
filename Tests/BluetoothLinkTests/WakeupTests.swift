import Basics
@testable import BluetoothLink
import Testing

/// How the adapter monitor sleeps between checks: until a change is reported, or its limit.
@Suite struct WakeupTests {
    struct Hung: Error {}

    /// Whether the wait was ended by a signal (true) or by its limit (false); a wait that would
    /// outlast the test is cut by a deadline, so a lost signal fails instead of hanging.
    func waitsBriefly(_ wakeup: Wakeup, limit: Duration = .seconds(3600)) async throws -> Bool {
        try await withDeadline(.now + .seconds(20), orThrow: { Hung() }) { await wakeup.wait(upTo: limit) }
    }

    @Test func aSignalBeforeTheWaitIsKeptForIt() async throws {
        let wakeup = Wakeup()
        wakeup.signal()
        #expect(try await waitsBriefly(wakeup))
    }

    @Test func aSignalDuringTheWaitEndsIt() async throws {
        let wakeup = Wakeup()
        async let waited = waitsBriefly(wakeup)
        wakeup.signal()  // before or after the wait began: either way it ends it
        #expect(try await waited)
    }

    @Test func withoutASignalTheLimitEndsTheWait() async throws {
        #expect(try await waitsBriefly(Wakeup(), limit: .milliseconds(20)) == false)
    }

    /// One signal ends one wait: the next waits for its own.
    @Test func aSignalIsUsedUpByOneWait() async throws {
        let wakeup = Wakeup()
        wakeup.signal()
        wakeup.signal()
        #expect(try await waitsBriefly(wakeup))
        await #expect(throws: Hung.self) {
            try await withDeadline(.now + .milliseconds(200), orThrow: { Hung() }) { await wakeup.wait(upTo: .seconds(3600)) }
        }
    }
}
