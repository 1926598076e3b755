/// A configuration problem, found at start-up, naming where it is.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file, or the flag, the problem is in.
    public let source: String
    /// 1-based line in the file; nil for flags and whole-file problems.
    public let line: Int?
    public let message: String

    public init(source: String, line: Int? = nil, _ message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(source):\(line): \(message)" }
        return "\(source): \(message)"
    }
}
