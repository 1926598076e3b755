/// `--log.format`: the two line formats Prometheus and its exporters write.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `key=value` pairs, values quoted when they need it.
    case logfmt
    /// One JSON object per line.
    case json
}
