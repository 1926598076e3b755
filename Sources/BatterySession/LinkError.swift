/// Why a link could not connect or carry a request, in the transport's own terms.
///
/// Every transport (Bluetooth LE, a serial port, the simulation) throws these; only the
/// session turns them into the `bms_poll_failures_total` vocabulary (`FailureReason`), in
/// `PollFailure.init(_: LinkError)`. Each case carries the sentence a person reads in the log.
public enum LinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The adapter or port is missing or off, or the service behind it (BlueZ) is not running.
    case adapterUnavailable(String)
    /// The battery was not found within the deadline.
    case deviceNotFound(String)
    /// The battery or the stack refused the connection, or it did not complete.
    case connectRefused(String)
    /// The link dropped, or is not up when a request is sent.
    case linkLost(String)
    /// A link step (connect, discover, subscribe) did not finish in time.
    case timeout(String)
    /// The module or the stack refused us for lack of pairing or the right credentials.
    case authentication(String)

    public var description: String {
        switch self {
        case let .adapterUnavailable(message), let .deviceNotFound(message), let .connectRefused(message),
             let .linkLost(message), let .timeout(message), let .authentication(message):
            message
        }
    }
}

extension PollFailure {
    /// The one place a link's error becomes a failure reason of the metrics.
    public init(_ error: LinkError) {
        switch error {
        case let .adapterUnavailable(message): self.init(.adapter, message)
        case let .deviceNotFound(message): self.init(.notFound, message)
        // A link step that times out is a connection that did not come up.
        case let .connectRefused(message), let .timeout(message): self.init(.connect, message)
        case let .linkLost(message): self.init(.linkLost, message)
        case let .authentication(message): self.init(.auth, message)
        }
    }
}
