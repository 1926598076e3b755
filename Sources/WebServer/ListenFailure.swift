import Glibc
import BMSConfig
import NIOCore

/// The listen socket could not be opened: the port is taken, privileged, or the address is not
/// this machine's. Said the way Go's exporters say it (`listen tcp 127.0.0.1:9882: address
/// already in use`), naming the address rather than the NIO call that failed.
///
/// A runtime failure (exit 1), not a bad flag: the same flags work once the port is free.
public struct ListenFailure: Error, CustomStringConvertible {
    public let address: ListenAddress
    /// The system's reason in lower case, as Go prints it.
    public let reason: String

    public var description: String { "listen tcp \(address): \(reason)" }

    /// The failure `error` stands for when it came from opening the listen socket.
    init?(_ error: any Error, address: ListenAddress) {
        guard let io = error as? IOError else { return nil }
        self.address = address
        reason = String(cString: strerror(io.errnoCode)).lowercased()
    }
}
