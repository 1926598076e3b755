/// Durations as Prometheus and Go write them: "10s", "500ms", "1m30s", "2h".
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        var total = Duration.zero
        var digits = ""
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return nil }
        while let character = rest.first {
            if character.isASCII, character.isNumber {
                digits.append(character)
                rest.removeFirst()
                continue
            }
            guard let value = Int64(digits), digits.count <= 9 else { return nil }
            let unit: Duration
            if rest.hasPrefix("ms") { unit = .milliseconds(1); rest.removeFirst(2) }
            else if rest.hasPrefix("s") { unit = .seconds(1); rest.removeFirst() }
            else if rest.hasPrefix("m") { unit = .seconds(60); rest.removeFirst() }
            else if rest.hasPrefix("h") { unit = .seconds(3600); rest.removeFirst() }
            else { return nil }
            total += unit * value
            digits = ""
        }
        // A bare number has no unit: ambiguous, so refused.
        return digits.isEmpty ? total : nil
    }

    /// The one form users see for a duration, in logs, errors and the landing page, as Go and
    /// Prometheus print them: "250ms", "1.5s", "1m30s", "2h". Whole milliseconds; `parse` reads
    /// back every result without a fraction.
    public static func format(_ duration: Duration) -> String {
        if duration < .zero { return "-" + format(.zero - duration) }
        let exact = duration.seconds * 1000
        // Past Int64 (hundreds of millions of years) a count of seconds says as much.
        guard exact < 9e18 else { return "\(Int64(min(duration.seconds, 9e18)))s" }
        let milliseconds = Int64(exact.rounded())
        if milliseconds == 0 { return "0s" }
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        let hours = milliseconds / 3_600_000
        let minutes = milliseconds / 60_000 % 60
        let secondsPart = milliseconds % 60_000
        var text = ""
        if hours > 0 { text += "\(hours)h" }
        if minutes > 0 { text += "\(minutes)m" }
        if secondsPart > 0 {
            text += "\(secondsPart / 1000)"
            if secondsPart % 1000 > 0 {
                var fraction = String(secondsPart % 1000)
                fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
                while fraction.hasSuffix("0") { fraction.removeLast() }
                text += "." + fraction
            }
            text += "s"
        }
        return text
    }
}

extension String {
    public func trimmingWhitespace() -> Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}

extension Duration {
    /// The duration as a floating-point number of seconds, for metrics and logs.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
