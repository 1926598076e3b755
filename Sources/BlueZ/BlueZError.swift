import DBus

/// Everything the BlueZ client reports, mapped once from D-Bus errors; callers never see a D-Bus message.
public enum BlueZError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `org.bluez` has no owner on the bus: bluetoothd is not running (or restarting).
    case serviceUnknown
    /// The D-Bus system bus cannot be reached, or the connection to it was lost.
    case busUnavailable(String)
    /// No adapter of that name; `available` lists the adapters that exist.
    case adapterMissing(name: String, available: [String])
    /// `org.bluez.Error.NotReady`: the adapter is powered off.
    case notReady(String)
    /// The object (adapter, device, characteristic) is not, or no longer, in BlueZ's tree.
    case notFound(String)
    /// `org.bluez.Error.InProgress`.
    case inProgress(String)
    /// The device is not connected (`Failed "Not connected"` or `NotConnected`).
    case notConnected
    /// `org.bluez.Error.Failed` with its reason, e.g. `le-connection-abort-by-local`.
    case failed(String)
    /// bluetoothd did not answer a method call in time (D-Bus NoReply or our call timeout).
    case noReply
    /// What we waited for did not happen within our deadline; says what was awaited.
    case timeout(String)
    /// Pairing or the link's security failed: `AuthenticationFailed`/`Canceled`/`Rejected`, or an
    /// ATT error 0x0e ("Connection Rejected Due To Security Reasons", a lost bond). Carries BlueZ's text.
    case authentication(String)
    /// The calling task was cancelled.
    case cancelled
    /// Any other D-Bus error reply.
    case other(name: String, message: String)

    public var description: String {
        switch self {
        case .serviceUnknown: "bluetoothd is not running (org.bluez is not on the system bus)"
        case .busUnavailable(let reason): "D-Bus system bus unavailable: \(reason)"
        case .adapterMissing(let name, let available):
            "adapter \(name) not found (adapters: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        case .notReady(let message): "adapter not ready (powered off?): \(message)"
        case .notFound(let what): "\(what) not found"
        case .inProgress(let message): "operation in progress: \(message)"
        case .notConnected: "not connected"
        case .failed(let reason): reason
        case .noReply: "no reply from bluetoothd"
        case .timeout(let what): what
        case .authentication(let message): message
        case .cancelled: "cancelled"
        case .other(let name, let message): "\(name): \(message)"
        }
    }

    /// Maps any error from the D-Bus layer (or a cancellation) to the BlueZ vocabulary.
    init(_ error: any Error) {
        switch error {
        case let error as BlueZError: self = error
        case is CancellationError: self = .cancelled
        case let error as DBusError: self = Self(dbus: error)
        default: self = .other(name: "unknown", message: "\(error)")
        }
    }

    private init(dbus error: DBusError) {
        switch error {
        case .errorReply(let name, let message):
            switch name {
            case "org.bluez.Error.NotReady": self = .notReady(message)
            case "org.bluez.Error.InProgress": self = .inProgress(message)
            case "org.bluez.Error.NotConnected": self = .notConnected
            case "org.bluez.Error.Failed" where message.lowercased().contains("att error: 0x0e"):
                self = .authentication(message)
            case "org.bluez.Error.Failed": self = message == "Not connected" ? .notConnected : .failed(message)
            case "org.bluez.Error.AuthenticationFailed", "org.bluez.Error.AuthenticationCanceled",
                "org.bluez.Error.AuthenticationRejected":
                self = .authentication("\(name.split(separator: ".").last ?? ""): \(message)")
            case "org.bluez.Error.DoesNotExist", "org.freedesktop.DBus.Error.UnknownObject",
                "org.freedesktop.DBus.Error.UnknownMethod":
                self = .notFound("object (\(message))")
            case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
                self = .serviceUnknown
            case "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout":
                self = .noReply
            default: self = .other(name: name, message: message)
            }
        case .timeout: self = .noReply
        case .disconnected: self = .busUnavailable("connection closed")
        case .connectionFailed(let name, let message): self = .busUnavailable("\(name): \(message)")
        default: self = .other(name: "org.freedesktop.DBus.Error.Failed", message: error.description)
        }
    }
}
