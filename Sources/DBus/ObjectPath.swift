/// A D-Bus object path such as `/org/bluez/hci0`; validity is checked when it is sent.
public struct ObjectPath: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The path as text.
    public let rawValue: String

    /// Wraps `rawValue` as an object path.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// Wraps a literal such as `"/org/bluez"`.
    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// The root path `/`.
    public static let root = ObjectPath("/")

    /// The path as text.
    public var description: String { rawValue }

    /// Whether this path is `namespace` itself or lies below it, as a `path_namespace` match does.
    public func isInNamespace(_ namespace: ObjectPath) -> Bool {
        if namespace == .root || self == namespace { return true }
        return rawValue.hasPrefix(namespace.rawValue + "/")
    }

    /// This path with one more element, e.g. `/org/bluez` + `hci0`.
    public func appending(_ element: String) -> ObjectPath {
        ObjectPath(self == .root ? "/" + element : rawValue + "/" + element)
    }

    public static func < (lhs: ObjectPath, rhs: ObjectPath) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
