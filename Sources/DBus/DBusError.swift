/// Everything that can go wrong talking D-Bus; cancellation throws `CancellationError` instead.
public enum DBusError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The peer answered with a D-Bus error, e.g. `org.bluez.Error.Failed` "le-connection-abort-by-local".
    case errorReply(name: String, message: String)
    /// No reply arrived within the call's timeout.
    case timeout
    /// The connection was closed or the bus went away; the connection cannot be used again.
    case disconnected
    /// Opening the connection or registering with the bus failed.
    case connectionFailed(name: String, message: String)
    /// Something cannot be sent: an invalid name, path or signature, or a container whose elements disagree.
    case invalidArgument(String)
    /// A received value has another type than the caller asked for (signatures).
    case typeMismatch(expected: String, actual: String)
    /// A received message holds a type this library does not read (unix file descriptors).
    case unsupportedType(String)

    /// The D-Bus error name of an error reply, such as `org.bluez.Error.InProgress`.
    public var errorName: String? {
        if case .errorReply(let name, _) = self { return name }
        return nil
    }

    public var description: String {
        switch self {
        case .errorReply(let name, let message): "\(name): \(message)"
        case .timeout: "D-Bus call timed out"
        case .disconnected: "D-Bus connection closed"
        case .connectionFailed(let name, let message): "cannot connect to D-Bus: \(name): \(message)"
        case .invalidArgument(let reason): "invalid D-Bus argument: \(reason)"
        case .typeMismatch(let expected, let actual): "expected D-Bus type \(expected), got \(actual)"
        case .unsupportedType(let signature): "unsupported D-Bus type \(signature)"
        }
    }
}
