import Logging
import Synchronization
import Testing
@testable import LogFormat

/// Parses a logfmt line back into pairs, by the rules a logfmt reader applies.
func parseLogfmt(_ line: Substring) -> [(String, String)]? {
    var pairs: [(String, String)] = []
    var index = line.startIndex
    func skipSpaces() { while index < line.endIndex, line[index] == " " { index = line.index(after: index) } }
    while true {
        skipSpaces()
        guard index < line.endIndex else { return pairs }
        guard let equals = line[index...].firstIndex(of: "=") else { return nil }
        let key = String(line[index..<equals])
        index = line.index(after: equals)
        var value = ""
        if index < line.endIndex, line[index] == "\"" {
            index = line.index(after: index)
            var closed = false
            while index < line.endIndex {
                let character = line[index]
                index = line.index(after: index)
                if character == "\"" { closed = true; break }
                if character == "\\" {
                    guard index < line.endIndex else { return nil }
                    let escaped = line[index]
                    index = line.index(after: index)
                    switch escaped {
                    case "n": value += "\n"
                    case "r": value += "\r"
                    case "t": value += "\t"
                    case "u":
                        let end = line.index(index, offsetBy: 4)
                        guard let code = UInt32(line[index..<end], radix: 16), let scalar = Unicode.Scalar(code) else { return nil }
                        value.unicodeScalars.append(scalar)
                        index = end
                    default: value.append(escaped)
                    }
                } else {
                    value.append(character)
                }
            }
            guard closed else { return nil }
        } else {
            while index < line.endIndex, line[index] != " " {
                guard line[index] != "\"", line[index] != "=" else { return nil }
                value.append(line[index])
                index = line.index(after: index)
            }
        }
        pairs.append((key, value))
    }
}

/// Collects what a handler writes.
final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite struct LogfmtTests {
    @Test(arguments: [
        "plain", "two words", "a=b", "say \"hi\"", "back\\slash", "line\nbreak", "tab\there", "",
        "bell\u{07}", "ünïcode ✓", "trailing ",
    ])
    func valuesReadBackAsWritten(value: String) throws {
        let record = LogRecord(time: "2026-11-30T21:00:00.000Z", level: "INFO", source: "Exporter.swift:70",
                               message: value, fields: [("battery", value)])
        let line = record.line(.logfmt)
        #expect(line.hasSuffix("\n"))
        #expect(line.dropLast().contains("\n") == false, "one event, one line")
        let pairs = try #require(parseLogfmt(line.dropLast()), "unparseable: \(line)")
        #expect(pairs.map(\.0) == ["time", "level", "source", "msg", "battery"])
        #expect(pairs.map(\.1) == ["2026-11-30T21:00:00.000Z", "INFO", "Exporter.swift:70", value, value])
    }

    @Test func simpleValuesStayBareAndOthersAreQuoted() {
        #expect(Logfmt.value("hci0") == "hci0")
        #expect(Logfmt.value("A4:C1:38:12:34:56") == "A4:C1:38:12:34:56")
        #expect(Logfmt.value("two words") == "\"two words\"")
        #expect(Logfmt.value("a=b") == "\"a=b\"")
        #expect(Logfmt.value("") == "\"\"")
        #expect(Logfmt.value("q\"") == "\"q\\\"\"")
    }

    @Test func keysThatLogfmtCannotHoldAreMadeSafe() {
        #expect(Logfmt.key("a key=x\"") == "a_key_x_")
        #expect(Logfmt.key("") == "_")
    }

    @Test func noTimeFieldWhenJournaldStampsTheLine() {
        let line = LogRecord(time: nil, level: "WARN", source: "a.swift:1", message: "m").line(.logfmt)
        #expect(line == "level=WARN source=a.swift:1 msg=m\n")
    }
}

@Suite struct JSONLineTests {
    @Test func oneObjectPerLineWithPrometheusFieldNames() throws {
        let record = LogRecord(time: "2026-11-30T21:00:00.000Z", level: "ERROR", source: "S.swift:9",
                               message: "a \"quoted\"\nline\u{01}", fields: [("battery", "house"), ("msg", "shadowed")])
        let line = record.line(.json)
        #expect(line.hasSuffix("}\n"))
        #expect(!line.dropLast().contains("\n"))
        let object = try #require(JSONReader.object(String(line.dropLast())))
        #expect(object == ["time": "2026-11-30T21:00:00.000Z", "level": "ERROR", "source": "S.swift:9",
                           "msg": "a \"quoted\"\nline\u{01}", "battery": "house"])
    }
}

@Suite struct HandlerTests {
    @Test func writesOneParsableLinePerEventWithSortedMetadata() throws {
        let lines = Lines()
        var handler = PrometheusLogHandler(format: .logfmt, level: .info, stampsTime: true, write: lines.append)
        handler[metadataKey: "zone"] = "a"
        let logger = Logger(label: "test") { _ in handler }
        logger.debug("hidden below the level")
        logger.warning("adapter off", metadata: ["battery": "house two"])
        #expect(lines.all.count == 1)
        let pairs = try #require(parseLogfmt(lines.all[0].dropLast()))
        #expect(pairs.map(\.0) == ["time", "level", "source", "msg", "battery", "zone"])
        #expect(pairs[1].1 == "WARN")
        #expect(pairs[2].1.hasPrefix("LogLineTests.swift:"))
        #expect(pairs[3].1 == "adapter off")
        #expect(pairs[4].1 == "house two")
        // RFC 3339 UTC with milliseconds.
        #expect(pairs[0].1.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(pairs[0].1)")
    }

    @Test func levelsUsePrometheusNames() {
        #expect(PrometheusLogHandler.levelName(.trace) == "DEBUG")
        #expect(PrometheusLogHandler.levelName(.info) == "INFO")
        #expect(PrometheusLogHandler.levelName(.warning) == "WARN")
        #expect(PrometheusLogHandler.levelName(.critical) == "ERROR")
    }

    @Test func timeIsUTC() {
        #expect(LogTime.rfc3339(now: (0, 5)) == "1970-01-01T00:00:00.005Z")
        #expect(LogTime.rfc3339(now: (1_764_536_400, 123)) == "2025-11-30T21:00:00.123Z")
    }

    @Test func journalStreamMustNameThisFile() {
        #expect(JournalStream.matches("8:1234", device: 8, inode: 1234))
        #expect(!JournalStream.matches("8:1235", device: 8, inode: 1234))
        #expect(!JournalStream.matches("garbage", device: 8, inode: 1234))
        #expect(!JournalStream.matches("8:", device: 8, inode: 0))
    }
}
