/// Runs `operation`, cancelling it and throwing `BlueZError.timeout(what)` at `deadline`.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, _ what: @autoclosure () -> String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let message = what()
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw BlueZError.timeout(message)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw BlueZError.timeout(message) }
        return first
    }
}

/// Runs `cleanup` to completion even when the calling task is cancelled (e.g. a Disconnect on
/// the way out), and waits for it, so nothing is left running.
func uncancellable(_ cleanup: @escaping @Sendable () async -> Void) async {
    await Task { await cleanup() }.value
}

extension ContinuousClock.Instant {
    /// Time left until this instant, never negative.
    var remaining: Duration {
        let left = ContinuousClock.now.duration(to: self)
        return left > .zero ? left : .zero
    }
}

/// Formats a duration for messages: "10s", "1.5s", "250ms".
func describe(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
    if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
    if milliseconds < 1000 { return "\(milliseconds)ms" }
    return "\(milliseconds / 1000).\(milliseconds % 1000 / 100)s"
}
