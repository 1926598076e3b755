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

    /// The shortest form `parse` reads back, e.g. "1m30s", "250ms".
    public static func format(_ duration: Duration) -> String {
        var milliseconds = Int64(duration.seconds * 1000 + 0.5)
        if milliseconds == 0 { return "0s" }
        var text = ""
        for (unit, suffix) in [(Int64(3_600_000), "h"), (60_000, "m"), (1000, "s"), (1, "ms")] where milliseconds >= unit {
            text += "\(milliseconds / unit)\(suffix)"
            milliseconds %= unit
        }
        return text
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
