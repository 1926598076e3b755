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
    /// left running: an operation that only ends when cancelled must not hold the caller.
    @Test func theDeadlineThrowsTheTimeoutErrorAndCancelsTheOperation() async {
        let (cancelled, sink) = AsyncStream<Void>.makeStream()
        await #expect(throws: TimedOut()) {
            try await withDeadline(.now + .milliseconds(50), orThrow: { TimedOut() }) { () async throws -> Int in
                try await withTaskCancellationHandler {
                    // Stands for work that would outlast the deadline; only cancellation ends it.
                    try await Task.sleep(for: .seconds(3600))
                    return 0
                } onCancel: {
                    sink.yield()
                    sink.finish()
                }
            }
        }
        var iterator = cancelled.makeAsyncIterator()
        #expect(await iterator.next() != nil)
    }
}
