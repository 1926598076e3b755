import Glibc
import Logging

/// A swift-log handler writing one `LogRecord` line per event to stderr.
///
/// Each line goes out in one `write(2)`, so lines from concurrent tasks never interleave.
public struct PrometheusLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let format: LogFormat
    /// False when journald stamps each line itself.
    let stampsTime: Bool
    let write: @Sendable (String) -> Void

    public init(
        format: LogFormat, level: Logger.Level, stampsTime: Bool = !JournalStream.isStandardError(),
        write: @escaping @Sendable (String) -> Void = PrometheusLogHandler.writeToStandardError
    ) {
        self.format = format
        self.logLevel = level
        self.stampsTime = stampsTime
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        let record = LogRecord(
            time: stampsTime ? LogTime.rfc3339(now: LogTime.now()) : nil,
            level: Self.levelName(event.level),
            source: Self.source(file: event.file, line: event.line),
            message: event.message.description,
            fields: merged.sorted { $0.key < $1.key }.map { ($0.key, Self.text($0.value)) }
        )
        write(record.line(format))
    }

    /// slog's level names, which Prometheus prints; swift-log's extra levels fold into the nearest.
    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error, .critical: "ERROR"
        }
    }

    /// `File.swift:LINE`: the base name, as Prometheus shows `main.go:123`.
    static func source(file: String, line: UInt) -> String {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        return "\(base):\(line)"
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array, .dictionary: value.description
        }
    }

    public static let writeToStandardError: @Sendable (String) -> Void = { line in
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                writeToFD2(buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0, errno == EINTR {
                continue
            } else {
                return  // stderr is gone: nowhere left to report it
            }
        }
    }
}

private func writeToFD2(_ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Glibc.write(2, bytes, count)
}
