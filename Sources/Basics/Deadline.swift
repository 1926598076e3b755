/// Runs `operation`, cancelling it and throwing `timeoutError()` at `deadline`.
public func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, orThrow timeoutError: @escaping @Sendable () -> any Error,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw timeoutError()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw timeoutError() }
        return first
    }
}
