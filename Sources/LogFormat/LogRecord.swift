/// One log event, ready to be written as a line in either `LogFormat`.
///
/// The fields and their order are Prometheus' own (`time`, `level`, `source`, `msg`, then
/// the event's metadata), so the tools that read node_exporter's logs read these too.
public struct LogRecord: Sendable, Equatable {
    /// RFC 3339 UTC time with milliseconds; nil when journald stamps the line itself.
    public var time: String?
    public var level: String
    /// `File.swift:LINE` of the call.
    public var source: String
    public var message: String
    /// Metadata in the order written.
    public var fields: [(key: String, value: String)]

    public init(time: String?, level: String, source: String, message: String, fields: [(key: String, value: String)] = []) {
        self.time = time
        self.level = level
        self.source = source
        self.message = message
        self.fields = fields
    }

    public static func == (lhs: LogRecord, rhs: LogRecord) -> Bool {
        lhs.time == rhs.time && lhs.level == rhs.level && lhs.source == rhs.source && lhs.message == rhs.message
            && lhs.fields.elementsEqual(rhs.fields) { $0.key == $1.key && $0.value == $1.value }
    }

    /// Every pair in line order, `time` left out when absent.
    var pairs: [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        if let time { pairs.append(("time", time)) }
        pairs.append(("level", level))
        pairs.append(("source", source))
        pairs.append(("msg", message))
        pairs.append(contentsOf: fields)
        return pairs
    }

    /// The line in `format`, with its trailing newline.
    public func line(_ format: LogFormat) -> String {
        switch format {
        case .logfmt: Logfmt.line(pairs)
        case .json: JSONLine.line(pairs)
        }
    }
}
