import ArgumentParser
import Basics

/// `--timeout` of `read` and `scan`: a duration above zero and at most an hour.
///
/// No connect or scan window needs longer, so more is a typo; and far more (thousands of
/// `999999999h` in one argument) overflowed the millisecond arithmetic of D-Bus deadlines.
enum TimeoutOption {
    static let maximum = Duration.seconds(3600)

    /// The duration `text` gives, or an error naming the flag; `example` is a sensible value.
    static func parse(_ text: String, example: String) throws(ValidationError) -> Duration {
        guard let duration = DurationText.parse(text), duration > .zero else {
            throw ValidationError("--timeout \(text.debugDescription) is not a duration like \(example)")
        }
        guard duration <= maximum else {
            throw ValidationError("--timeout \(text.debugDescription) is longer than the maximum of \(DurationText.format(maximum))")
        }
        return duration
    }
}
