import Logging

/// Decides at which level a battery's failed poll is logged, so the log names the current
/// cause without repeating it every poll.
///
/// The first failure after a success (or at start) and every change of cause is a warning: a
/// new cause with the same reason (another link-loss reason, another register timing out) is
/// news too, or the log shows a stale cause for hours. The same cause again is debug; the
/// counter `bms_poll_failures_total` counts repeats.
struct FailureLog {
    private var lastReported: PollFailure?

    /// The level to log `failure` at; remembers it as the cause now reported.
    mutating func level(for failure: PollFailure) -> Logger.Level {
        defer { lastReported = failure }
        return lastReported == failure ? .debug : .warning
    }

    /// Whether a failure was reported since the last success.
    var isReporting: Bool { lastReported != nil }

    /// A poll succeeded: the next failure is news again.
    mutating func recovered() {
        lastReported = nil
    }
}
