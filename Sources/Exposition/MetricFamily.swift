import BatterySession

/// One metric family of the exposition: its name, type and help text, and a way to list
/// its samples for one battery.
struct MetricFamily: Sendable {
    enum Kind: String, Sendable {
        case gauge, counter, summary
    }

    let name: String
    let kind: Kind
    let help: String
    /// Appends this family's samples for one battery; `reading` is nil when it is not fresh.
    let samples: @Sendable (_ status: BatteryStatus, _ reading: Reading?, _ out: inout SampleWriter) -> Void
    /// The `# HELP` and `# TYPE` lines, escaped once: families are constants, scrapes are many.
    let header: String

    init(
        name: String, kind: Kind, help: String,
        samples: @escaping @Sendable (_ status: BatteryStatus, _ reading: Reading?, _ out: inout SampleWriter) -> Void
    ) {
        self.name = name
        self.kind = kind
        self.help = help
        self.samples = samples
        header = Self.header(name: name, kind: kind, help: help)
    }

    static func header(name: String, kind: Kind, help: String) -> String {
        "# HELP " + name + " " + LabelValue.escapeHelp(help) + "\n# TYPE " + name + " " + kind.rawValue + "\n"
    }
}

/// Writes the exposition text: family headers and sample lines, each carrying the battery label first.
///
/// A scrape writes thousands of short lines, so each line is written in one pass into one byte
/// buffer after a single check that it has room: appending piece by piece (`String` or `Array`
/// appends, temporaries per line) cost more than the text itself.
struct SampleWriter {
    /// The text written is `storage[..<count]`; the rest is room to grow into.
    private var storage: [UInt8]
    private var count = 0
    /// `family{battery="…"`, the start of every line of the current family and battery.
    private var linePrefix: [UInt8] = []

    init(capacity: Int = 4096) {
        storage = Array(repeating: 0, count: capacity)
    }

    /// Everything written so far.
    var text: String { String(decoding: storage[..<count], as: UTF8.self) }

    /// A position to `rollBack(to:)`, e.g. to drop a header when its family had no samples.
    var mark: Int { count }

    mutating func rollBack(to mark: Int) {
        count = mark
    }

    /// Appends text as it is, outside any sample line (a family's header).
    mutating func append(_ text: String) {
        makeRoom(text.utf8.count)
        count = storage.withUnsafeMutableBufferPointer { buffer in
            var cursor = LineCursor(buffer: buffer, at: count)
            cursor.write(text)
            return cursor.at
        }
    }

    /// Starts the lines of `family` for the battery whose escaped label is `batteryLabel` (`battery="…"`).
    mutating func start(family: String, batteryLabel: String) {
        linePrefix.removeAll(keepingCapacity: true)
        linePrefix.append(contentsOf: family.utf8)
        linePrefix.append(UInt8(ascii: "{"))
        linePrefix.append(contentsOf: batteryLabel.utf8)
    }

    mutating func sample(_ value: Double) {
        writeLine(EmptyCollection(), value)
    }

    mutating func sample(_ value: Double, _ label: String, _ labelValue: String) {
        writeLine(CollectionOfOne((label, labelValue)), value)
    }

    mutating func sample(_ value: Double, labels: [(String, String)]) {
        writeLine(labels, value)
    }

    mutating func sample(_ flag: Bool, _ label: String, _ labelValue: String) {
        sample(flag ? 1 : 0, label, labelValue)
    }

    /// `family{battery="…",name="value"…} value` and a newline, label values escaped.
    private mutating func writeLine<Labels: Collection<(String, String)>>(_ labels: Labels, _ value: Double) {
        // Escaping at most doubles a value; "} ", the number (at most 24 bytes) and "\n" fit in 40.
        var room = linePrefix.count + 40
        for (name, labelValue) in labels { room += name.utf8.count + 2 * labelValue.utf8.count + 4 }
        makeRoom(room)
        count = storage.withUnsafeMutableBufferPointer { buffer in
            var line = LineCursor(buffer: buffer, at: count)
            line.write(linePrefix)
            for (name, labelValue) in labels {
                line.write(UInt8(ascii: ","))
                line.write(name)
                line.write(UInt8(ascii: "="))
                line.write(UInt8(ascii: "\""))
                line.writeEscaped(labelValue)
                line.write(UInt8(ascii: "\""))
            }
            line.write(UInt8(ascii: "}"))
            line.write(UInt8(ascii: " "))
            line.write(value)
            line.write(UInt8(ascii: "\n"))
            return line.at
        }
    }

    private mutating func makeRoom(_ bytes: Int) {
        if count + bytes > storage.count {
            storage.append(contentsOf: repeatElement(0, count: max(bytes, storage.count)))
        }
    }

    /// Whole numbers without a fraction, as Prometheus' own clients write them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }
}

/// Writes bytes into a buffer that the caller made large enough for the whole line; every
/// write is still bounds-checked, so a wrong estimate traps instead of writing past the end.
private struct LineCursor {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var at: Int

    mutating func write(_ byte: UInt8) {
        precondition(at < buffer.count, "line longer than the room made for it")
        buffer[at] = byte
        at += 1
    }

    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write($0) }
    }

    mutating func write(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { write($0) }
        if copied == nil {
            for byte in text.utf8 { write(byte) }
        }
    }

    /// What `LabelValue.escape(value)` returns; the bytes are copied and checked in one pass.
    mutating func writeEscaped(_ value: String) {
        let start = at
        let clean: Bool? = value.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\n") { return false }
                write(byte)
            }
            return true
        }
        if clean != true {
            at = start
            write(LabelValue.escape(value))
        }
    }

    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(at + bytes.count <= buffer.count, "line longer than the room made for it")
        (buffer.baseAddress! + at).update(from: source, count: bytes.count)
        at += bytes.count
    }

    /// Exactly what `SampleWriter.format(value)` returns, written without making a string for the
    /// common cases: whole numbers, and values with up to three decimals (3.318 V, 20.3 °C, 0.71).
    mutating func write(_ value: Double) {
        if value == value.rounded(), abs(value) < 1e15 {
            write(Int64(value))
            return
        }
        // `description` is the shortest decimal that reads back as `value`. For n / 10^k with
        // k ≤ 3 and |n| < 10^15 that is n's digits with the point k places from the right and
        // trailing zeros dropped: division and parsing both round the same exact rational.
        var scale = 1.0
        for decimals in 1...3 {
            scale *= 10
            let scaled = (value * scale).rounded()
            guard abs(scaled) < 1e15, scaled / scale == value else { continue }
            writeDecimal(Int64(scaled), decimals: decimals)
            return
        }
        write(SampleWriter.format(value))
    }

    /// What `String(value)` writes.
    mutating func write(_ value: Int64) {
        if value < 0 { write(UInt8(ascii: "-")) }
        writeDigits(value.magnitude, minimumCount: 1)
    }

    /// `scaled` / 10^decimals with `decimals` fraction digits, trailing zeros removed; at least one remains
    /// because a whole value never gets here.
    private mutating func writeDecimal(_ scaled: Int64, decimals: Int) {
        if scaled < 0 { write(UInt8(ascii: "-")) }
        var divisor: UInt64 = 1
        for _ in 0..<decimals { divisor *= 10 }
        let magnitude = scaled.magnitude
        writeDigits(magnitude / divisor, minimumCount: 1)
        write(UInt8(ascii: "."))
        var fraction = magnitude % divisor
        var digits = decimals
        while fraction % 10 == 0, digits > 1 {
            fraction /= 10
            digits -= 1
        }
        writeDigits(fraction, minimumCount: digits)
    }

    /// Decimal digits, left-padded with zeros to `minimumCount`.
    private mutating func writeDigits(_ value: UInt64, minimumCount: Int) {
        var remaining = value
        var length = 0
        repeat {
            length += 1
            remaining /= 10
        } while remaining > 0
        length = max(length, minimumCount)
        precondition(at + length <= buffer.count, "line longer than the room made for it")
        remaining = value
        for index in stride(from: at + length - 1, through: at, by: -1) {
            buffer[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        at += length
    }
}

/// Label values may hold any UTF-8; backslash, double quote and newline must be escaped.
enum LabelValue {
    static func escape(_ value: String) -> String {
        guard needsEscaping(value) else { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Whether `value` holds a backslash, double quote or newline byte; scans contiguous
    /// UTF-8 directly, since every sample's label values pass through here.
    private static func needsEscaping(_ value: String) -> Bool {
        func special(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\n")
        }
        return value.utf8.withContiguousStorageIfAvailable { $0.contains(where: special) }
            ?? value.utf8.contains(where: special)
    }

    /// HELP text escapes backslash and newline only.
    static func escapeHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}
