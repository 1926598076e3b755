/// A received signal.
public struct DBusSignal: Hashable, Sendable {
    /// The sender's unique name, e.g. `:1.7`.
    public var sender: String
    /// The object that emitted it.
    public var path: ObjectPath
    /// The interface, e.g. `org.freedesktop.DBus.Properties`.
    public var interface: String
    /// The signal name, e.g. `PropertiesChanged`.
    public var member: String
    /// The body.
    public var arguments: [DBusValue]

    /// A signal with the given header and body.
    public init(sender: String, path: ObjectPath, interface: String, member: String, arguments: [DBusValue]) {
        self.sender = sender
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
    }
}

/// A method call received by an exported object.
public struct DBusMethodCall: Hashable, Sendable {
    /// The caller's unique name.
    public var sender: String
    /// The object called.
    public var path: ObjectPath
    /// The interface, which D-Bus lets a caller omit.
    public var interface: String?
    /// The method name.
    public var member: String
    /// The arguments.
    public var arguments: [DBusValue]

    /// A call with the given header and arguments, e.g. to unit-test a handler.
    public init(sender: String, path: ObjectPath, interface: String?, member: String, arguments: [DBusValue]) {
        self.sender = sender
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
    }
}

/// How an exported object answers a method call.
public enum DBusMethodReply: Hashable, Sendable {
    /// A method return carrying these values.
    case values([DBusValue])
    /// A D-Bus error, e.g. `org.bluez.Error.InProgress`.
    case error(name: String, message: String)
    /// No answer at all, so the caller runs into its timeout (what a hung peer does).
    case noReply
}

/// Answers the method calls of one exported object path.
public typealias DBusMethodHandler = @Sendable (DBusMethodCall) async -> DBusMethodReply
