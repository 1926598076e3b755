/// Why a poll of a battery failed: the `reason` label of `bms_poll_failures_total`.
public enum FailureReason: String, CaseIterable, Sendable, Comparable {
    /// Adapter missing or powered off, or BlueZ not running.
    case adapter
    /// The battery was not found in range within the deadline.
    case notFound = "not_found"
    /// Connecting or discovering its services failed or timed out.
    case connect
    /// A request went unanswered.
    case timeout
    /// Only frames with a bad checksum or framing came back.
    case checksum
    /// The BMS answered with a non-zero status.
    case status
    /// A frame was valid but its contents were not (lengths, ranges).
    case decode
    /// The two registers of one poll disagree (e.g. on the cell count).
    case inconsistent
    /// The link dropped during the poll.
    case linkLost = "link_lost"
    /// The module wants pairing or a password: it echoed our request, BlueZ reported an
    /// authentication error, or the module refused the password.
    case auth

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A failed poll or connection attempt: the reason for the counter and a sentence for the log.
public struct PollFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: FailureReason
    public let message: String

    public init(_ reason: FailureReason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }
}

extension PollFailure {
    /// Remedies name the battery's address as `<address>` where the code that fails does not
    /// know it; whoever reports the failure fills it in.
    public static let addressPlaceholder = "<address>"

    /// This failure with the address placeholder in its message replaced by `address`.
    public func naming(address: String) -> PollFailure {
        PollFailure(reason, message.split(separator: Self.addressPlaceholder, omittingEmptySubsequences: false)
            .joined(separator: address))
    }
}
