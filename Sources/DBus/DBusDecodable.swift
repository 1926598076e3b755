/// A Swift type that can be read from a received ``DBusValue``; variants are looked through.
///
/// Nesting composes: `try reply.decode([ObjectPath: [String: [String: DBusValue]]].self)`
/// turns BlueZ's `GetManagedObjects` answer into Swift dictionaries.
public protocol DBusDecodable {
    /// Reads `dbusValue`, throwing ``DBusError/typeMismatch(expected:actual:)`` if it has another type.
    init(dbusValue: DBusValue) throws
}

extension DBusValue {
    /// This value as `T`, e.g. `try value.decode(String.self)`.
    public func decode<T: DBusDecodable>(_ type: T.Type = T.self) throws -> T {
        try T(dbusValue: self)
    }

    /// This value as `T`, or nil if it has another type.
    public func value<T: DBusDecodable>(as type: T.Type = T.self) -> T? {
        try? T(dbusValue: self)
    }

    /// Extracts the payload of one case, after looking through variants.
    fileprivate func extract<T>(_ expected: String, _ payload: (DBusValue) -> T?) throws -> T {
        let value = unwrapped
        guard let result = payload(value) else {
            throw DBusError.typeMismatch(expected: expected, actual: value.signature)
        }
        return result
    }
}

extension Array where Element == DBusValue {
    /// The argument at `index` (the first by default) as `T`; a missing argument is a type mismatch.
    public func decode<T: DBusDecodable>(_ type: T.Type = T.self, at index: Int = 0) throws -> T {
        guard indices.contains(index) else {
            throw DBusError.typeMismatch(expected: "argument \(index)", actual: map(\.signature).joined())
        }
        return try T(dbusValue: self[index])
    }
}

extension DBusValue: DBusDecodable {
    /// Decoding into `DBusValue` drops variant wrappers: the inner value carries its own type.
    public init(dbusValue: DBusValue) {
        self = dbusValue.unwrapped
    }
}

extension Bool: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("b") { if case .boolean(let v) = $0 { v } else { nil } }
    }
}

extension UInt8: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("y") { if case .byte(let v) = $0 { v } else { nil } }
    }
}

extension Int16: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("n") { if case .int16(let v) = $0 { v } else { nil } }
    }
}

extension UInt16: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("q") { if case .uint16(let v) = $0 { v } else { nil } }
    }
}

extension Int32: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("i") { if case .int32(let v) = $0 { v } else { nil } }
    }
}

extension UInt32: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("u") { if case .uint32(let v) = $0 { v } else { nil } }
    }
}

extension Int64: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("x") { if case .int64(let v) = $0 { v } else { nil } }
    }
}

extension UInt64: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("t") { if case .uint64(let v) = $0 { v } else { nil } }
    }
}

extension Double: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("d") { if case .double(let v) = $0 { v } else { nil } }
    }
}

extension String: DBusDecodable {
    /// Reads `s`; object paths and signatures are not strings here, decode them as their own types.
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("s") { if case .string(let v) = $0 { v } else { nil } }
    }
}

extension ObjectPath: DBusDecodable {
    public init(dbusValue: DBusValue) throws {
        self = try dbusValue.extract("o") { if case .objectPath(let v) = $0 { v } else { nil } }
    }
}

extension Array: DBusDecodable where Element: DBusDecodable {
    /// Reads any array; `[UInt8]` from `ay` is a plain copy.
    public init(dbusValue: DBusValue) throws {
        switch dbusValue.unwrapped {
        case .bytes(let bytes):
            if let same = bytes as? [Element] {
                self = same
            } else {
                self = try bytes.map { try Element(dbusValue: .byte($0)) }
            }
        case .array(_, let elements):
            self = try elements.map(Element.init(dbusValue:))
        case let other:
            throw DBusError.typeMismatch(expected: "array", actual: other.signature)
        }
    }
}

extension Dictionary: DBusDecodable where Key: DBusDecodable, Value: DBusDecodable {
    /// Reads `a{kv}`; a repeated key keeps its last value.
    public init(dbusValue: DBusValue) throws {
        guard case .dictionary(_, _, let entries) = dbusValue.unwrapped else {
            throw DBusError.typeMismatch(expected: "a{..}", actual: dbusValue.unwrapped.signature)
        }
        self.init(minimumCapacity: entries.count)
        for entry in entries {
            self[try Key(dbusValue: entry.key)] = try Value(dbusValue: entry.value)
        }
    }
}
