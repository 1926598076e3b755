import Glibc

/// Why a serial line could not be opened or could not complete an exchange.
public enum SerialPortError: Error, Equatable, CustomStringConvertible {
    /// No such device node (ENOENT): unplugged, or a by-id name that was never there.
    case notFound(path: String)
    /// The node exists but this user may not open it (EACCES/EPERM).
    case permissionDenied(path: String)
    /// Another process holds the line (TIOCEXCL or our advisory lock).
    case busy(path: String)
    /// The device went away under an open descriptor (EIO, ENXIO, ENODEV, hang-up).
    case gone(path: String)
    /// Not one byte arrived before the exchange's deadline.
    case timeout(path: String, after: Duration)
    /// A rate the terminal driver has no speed constant for.
    case invalidBaud(Int)
    /// The path names something that is not a terminal (a regular file, a directory…).
    case notATerminal(path: String)
    /// The port was closed before or during the call.
    case closed(path: String)
    /// Any other failure of a system call, with its errno.
    case system(path: String, call: String, errno: Int32)

    public var description: String {
        switch self {
        case .notFound(let path):
            "serial device \(path) does not exist (unplugged, or a wrong name?)"
        case .permissionDenied(let path):
            "no permission to open serial device \(path): add the user to the group owning it (usually dialout)"
        case .busy(let path):
            "serial device \(path) is in use by another process (it holds the exclusive lock)"
        case .gone(let path):
            "serial device \(path) went away (unplugged or hung up)"
        case .timeout(let path, let after):
            "no reply on serial device \(path) within \(after)"
        case .invalidBaud(let rate):
            "baud rate \(rate) is not supported; use one of \(BaudRate.supported.map(String.init).joined(separator: ", "))"
        case .notATerminal(let path):
            "\(path) is not a serial device (not a terminal)"
        case .closed(let path):
            "serial device \(path) was closed"
        case .system(let path, let call, let code):
            "\(call) on serial device \(path) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }

    /// The errno of a failed call on an open line, mapped to the cases callers act upon.
    static func fromIO(_ code: Int32, call: String, path: String) -> SerialPortError {
        switch code {
        case EIO, ENXIO, ENODEV: .gone(path: path)
        case EBADF: .closed(path: path)
        default: .system(path: path, call: call, errno: code)
        }
    }
}
