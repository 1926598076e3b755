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
