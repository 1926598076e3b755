/// One D-Bus value of any type; containers carry their element signatures so empty ones can be sent.
///
/// Received `ay` always arrives as ``bytes(_:)``; `.array(elementSignature: "y", …)` is accepted when sending.
public indirect enum DBusValue: Hashable, Sendable {
    case byte(UInt8)
    case boolean(Bool)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(ObjectPath)
    case signature(String)
    /// `ay`, kept as contiguous bytes because BlueZ moves GATT values this way.
    case bytes([UInt8])
    /// An array of any element type except bytes and dict entries, e.g. `as` or `ao`.
    case array(elementSignature: String, [DBusValue])
    /// `a{kv}`, in wire order.
    case dictionary(keySignature: String, valueSignature: String, [DBusDictionaryEntry])
    case structure([DBusValue])
    case variant(DBusValue)
}

/// One key/value pair of a D-Bus dictionary.
public struct DBusDictionaryEntry: Hashable, Sendable {
    /// The key, always of a basic type.
    public var key: DBusValue
    /// The value.
    public var value: DBusValue

    /// Pairs `key` with `value`.
    public init(_ key: DBusValue, _ value: DBusValue) {
        self.key = key
        self.value = value
    }
}

extension DBusValue {
    /// The D-Bus type signature of this value, e.g. `a{sv}`.
    public var signature: String {
        switch self {
        case .byte: "y"
        case .boolean: "b"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .bytes: "ay"
        case .array(let elementSignature, _): "a" + elementSignature
        case .dictionary(let keySignature, let valueSignature, _): "a{" + keySignature + valueSignature + "}"
        case .structure(let fields): "(" + fields.map(\.signature).joined() + ")"
        case .variant: "v"
        }
    }

    /// The value inside any number of variants.
    public var unwrapped: DBusValue {
        var value = self
        while case .variant(let inner) = value { value = inner }
        return value
    }
}

// Builders for the shapes BlueZ asks for, so callers rarely spell a signature.
extension DBusValue {
    /// `a{sv}` from a Swift dictionary; values are wrapped in a variant unless they already are one.
    /// Keys are sorted so the same dictionary always produces the same message.
    public static func vardict(_ entries: [String: DBusValue]) -> DBusValue {
        let sorted = entries.sorted { $0.key < $1.key }
        return .dictionary(keySignature: "s", valueSignature: "v", sorted.map { key, value in
            if case .variant = value { return DBusDictionaryEntry(.string(key), value) }
            return DBusDictionaryEntry(.string(key), .variant(value))
        })
    }

    /// `as`.
    public static func strings(_ values: [String]) -> DBusValue {
        .array(elementSignature: "s", values.map(DBusValue.string))
    }

    /// `ao`.
    public static func objectPaths(_ values: [ObjectPath]) -> DBusValue {
        .array(elementSignature: "o", values.map(DBusValue.objectPath))
    }
}

extension DBusValue: ExpressibleByStringLiteral {
    /// A string literal is a D-Bus `s`.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension DBusValue: ExpressibleByBooleanLiteral {
    /// A boolean literal is a D-Bus `b`.
    public init(booleanLiteral value: Bool) {
        self = .boolean(value)
    }
}
