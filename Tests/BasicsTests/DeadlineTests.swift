import Basics
import Testing

@Suite struct DeadlineTests {
    struct TimedOut: Error, Equatable {}

    @Test func anOperationThatFinishesInTimeReturnsItsValue() async throws {
        let value = try await withDeadline(.now + .seconds(60), orThrow: { TimedOut() }) { 42 }
        #expect(value == 42)
    }

    @Test func anOperationsOwnErrorIsThrownAsIs() async {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await withDeadline(.now + .seconds(60), orThrow: { TimedOut() }) { () async throws -> Int in throw Refused() }
        }
    }

    /// At the deadline the caller gets the timeout error and the operation is cancelled, not
    /// left running: `withDeadline` returns only once its operation has ended, and this one ends
    /// only when cancelled, so getting the error at all shows the cancellation.
    @Test func theDeadlineThrowsTheTimeoutErrorAndCancelsTheOperation() async {
        await #expect(throws: TimedOut()) {
            try await withDeadline(.now + .milliseconds(50), orThrow: { TimedOut() }) { () async throws -> Int in
                try await Task.sleep(for: .seconds(3600))  // work that would outlast the deadline
                return 0
            }
        }
    }
}
