import JBD

/// A link that can send a request without a task waiting for the transport to confirm it, and
/// run the request's deadline on the thread that delivers its replies.
///
/// With it, a request wakes the polling task once: when its reply, its deadline or a send
/// failure settles it. Without it, ``BMSClient`` awaits `send` and keeps a timer task per
/// request, which costs several thread wake-ups per request on a host that should sleep.
public protocol PostingLink: BMSLink {
    /// Queues `request` for sending. Throws at once when there is no connection; a failure the
    /// transport reports later reaches `failed`, at most once, on the reply thread.
    func post(_ request: ReadRequest, failed: @escaping @Sendable (LinkError) -> Void) throws(LinkError)

    /// Runs `action` at `deadline` on the thread that delivers replies, unless the returned
    /// closure is called first. It must not block.
    func schedule(
        at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void
    ) -> @Sendable () -> Void
}
