import Basics

/// The timing of one battery's polling, derived from its poll interval so that a test
/// with a 200 ms interval and a van with a 10 s one both get sensible timeouts.
public struct PollSchedule: Sendable, Equatable {
    public var pollInterval: Duration
    /// Stay connected between polls (true), or free the BMS for the phone app (false).
    public var keepConnected: Bool
    /// How long one request may wait for its reply.
    public var requestTimeout: Duration
    /// How long finding, connecting and subscribing may take.
    public var connectTimeout: Duration
    /// While idle and connected, a read at least this often keeps the link up:
    /// LIONTRON modules drop a silent link after about 8 s.
    public var keepAliveInterval: Duration
    public var initialBackoff: Duration
    public var maximumBackoff: Duration

    public init(pollInterval: Duration, keepConnected: Bool = true) {
        self.pollInterval = pollInterval
        self.keepConnected = keepConnected
        requestTimeout = min(.seconds(1), pollInterval / 2)
        connectTimeout = min(.seconds(30), max(pollInterval * 3, .seconds(1)))
        keepAliveInterval = .seconds(5)
        initialBackoff = min(.seconds(1), pollInterval)
        maximumBackoff = min(.seconds(60), pollInterval * 6)
    }

    /// A reading older than this is not served.
    public var maxAge: Duration { pollInterval * 3 }
}
