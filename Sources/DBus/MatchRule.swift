/// Which signals a subscription receives; unset fields match anything.
///
/// The bus applies the whole rule. Locally, each subscription re-checks path, path namespace,
/// interface, member and `arg0`, and the sender only when it is a unique name (`:1.42`) or the
/// bus itself, because mapping well-known names to owners would need its own name tracking.
public struct MatchRule: Hashable, Sendable, CustomStringConvertible {
    /// Sender bus name, e.g. `org.bluez`.
    public var sender: String?
    /// Exact object path.
    public var path: ObjectPath?
    /// Object path and everything below it; exclusive with `path`.
    public var pathNamespace: ObjectPath?
    /// Interface name, e.g. `org.freedesktop.DBus.Properties`.
    public var interface: String?
    /// Signal name, e.g. `PropertiesChanged`.
    public var member: String?
    /// The first argument, when it is a string equal to this.
    public var arg0: String?

    /// A rule for signals; every argument left nil matches anything.
    public init(
        sender: String? = nil, path: ObjectPath? = nil, pathNamespace: ObjectPath? = nil,
        interface: String? = nil, member: String? = nil, arg0: String? = nil
    ) {
        self.sender = sender
        self.path = path
        self.pathNamespace = pathNamespace
        self.interface = interface
        self.member = member
        self.arg0 = arg0
    }

    /// The bus's `NameOwnerChanged(name, old_owner, new_owner)` for one name.
    public static func nameOwnerChanged(_ name: String) -> MatchRule {
        MatchRule(
            sender: busName, path: "/org/freedesktop/DBus", interface: busName,
            member: "NameOwnerChanged", arg0: name)
    }

    /// The rule text sent to `AddMatch`.
    public var description: String {
        var fields = [("type", "signal")]
        if let sender { fields.append(("sender", sender)) }
        if let path { fields.append(("path", path.rawValue)) }
        if let pathNamespace { fields.append(("path_namespace", pathNamespace.rawValue)) }
        if let interface { fields.append(("interface", interface)) }
        if let member { fields.append(("member", member)) }
        if let arg0 { fields.append(("arg0", arg0)) }
        return fields.map { key, value in "\(key)='\(Self.quoted(value))'" }.joined(separator: ",")
    }

    /// Whether a signal with this header may match; `arg0` needs the body, see ``matches(_:)``.
    func matchesHeader(sender: String?, path: ObjectPath, interface: String?, member: String?) -> Bool {
        if let expected = self.sender, expected.hasPrefix(":") || expected == busName, expected != sender {
            return false
        }
        if let expected = self.path, expected != path { return false }
        if let namespace = pathNamespace, !path.isInNamespace(namespace) { return false }
        if let expected = self.interface, expected != interface { return false }
        if let expected = self.member, expected != member { return false }
        return true
    }

    /// Whether `signal` matches, as far as the bus-independent fields go.
    func matches(_ signal: DBusSignal) -> Bool {
        guard matchesHeader(
            sender: signal.sender, path: signal.path, interface: signal.interface, member: signal.member)
        else { return false }
        if let arg0 {
            guard case .string(let first) = signal.arguments.first, first == arg0 else { return false }
        }
        return true
    }

    /// Match rule values sit in single quotes with no escapes inside, so a quote closes, is escaped, reopens.
    private static func quoted(_ value: String) -> String {
        var result = ""
        for character in value {
            if character == "'" { result += "'\\''" } else { result.append(character) }
        }
        return result
    }
}

/// The bus daemon's own name, interface and path.
let busName = "org.freedesktop.DBus"
let busPath = ObjectPath("/org/freedesktop/DBus")
