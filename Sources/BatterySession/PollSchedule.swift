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

    /// The most one poll on a fresh connection can take before it succeeds or fails: the
    /// connect, and the four registers a fresh connection reads, each with its retry.
    public var pollBudget: Duration {
        connectTimeout + requestTimeout * (4 * Self.attemptsPerRequest)
    }

    /// Requests per register and poll: the first after connecting or waking is often lost.
    static let attemptsPerRequest = 2

    /// A reading older than this is not served: three poll intervals (the contract), or with
    /// `keep_connected: false` longer when one poll may take longer than that. There every poll
    /// connects, and a reading that expired while the next poll was still connecting made
    /// `bms_up` flicker to 0 with no failure counted; such a reading is only stale once the poll
    /// after it has had all the time it may.
    public var maxAge: Duration {
        keepConnected ? pollInterval * 3 : max(pollInterval * 3, pollInterval + pollBudget)
    }
}
