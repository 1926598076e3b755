import JBD

/// Request/reply over a connected link: one request in flight, a timeout per request, and
/// a retry, because the first request after connecting or waking is often not answered.
struct BMSClient: Sendable {
    let link: any BMSLink
    let inbox: ReplyInbox
    let requestTimeout: Duration
    let attempts: Int
    /// When set, no request waits past it and none is sent after it: `read --timeout` bounds
    /// the whole command, not each step.
    var deadline: ContinuousClock.Instant?

    /// Reads one register. A BMS error status comes back as `.error`, not as a failure.
    func read(_ register: Register, attempts: Int? = nil) async throws(PollFailure) -> Reply {
        var lastFailure = PollFailure(.timeout, "no reply")
        for _ in 0..<max(1, attempts ?? self.attempts) {
            var wait = requestTimeout
            if let deadline {
                wait = min(wait, ContinuousClock.now.duration(to: deadline))
                guard wait > .zero else {
                    lastFailure = PollFailure(.timeout, "no reply before the deadline")
                    break
                }
            }
            let ticket = try await send(register, timeout: wait)
            do throws(PollFailure) {
                let frame = try await inbox.wait(ticket, timeout: posting == nil ? wait : nil)
                do {
                    return try Reply(decoding: frame)
                } catch {
                    // A value no real pack can have means the reading cannot be trusted as a whole.
                    let reason: FailureReason = if case .implausible = error { .inconsistent } else { .decode }
                    throw PollFailure(reason, "register \(register.hexName): \(error)")
                }
            } catch where error.reason == .timeout || error.reason == .checksum {
                // Only silence and corruption are worth asking again; an echo or a lost link is not.
                lastFailure = error
                if Task.isCancelled { break }
            }
        }
        throw PollFailure(lastFailure.reason, "register \(register.hexName): \(lastFailure.message)")
    }

    /// The link's posting side, when it has one: see `PostingLink`.
    private var posting: (any PostingLink)? { link as? any PostingLink }

    /// Arms the inbox and sends the request for `register`; returns the ticket to wait for.
    /// A posting link runs the deadline, `timeout` from now, on its own thread; for other links
    /// the caller's `wait` times it.
    private func send(_ register: Register, timeout: Duration) async throws(PollFailure) -> UInt64 {
        let request = ReadRequest(register)
        do throws(LinkError) {
            guard let posting else {
                let ticket = inbox.arm(register.rawValue, request: request.bytes)
                try await link.send(request)
                return ticket
            }
            let ticket = inbox.arm(register.rawValue, request: request.bytes, timeout: timeout, on: posting)
            let inbox = self.inbox
            do throws(LinkError) {
                try posting.post(request) { error in inbox.fail(ticket, with: PollFailure(error)) }
            } catch {
                inbox.fail(ticket, with: PollFailure(error))  // settles the armed deadline too
                throw error
            }
            return ticket
        } catch {
            throw PollFailure(error)
        }
    }

    /// Reads a register every board must support; an error status is a failed poll.
    func readRequired(_ register: Register) async throws(PollFailure) -> Reply {
        let reply = try await read(register)
        if case let .error(_, status) = reply {
            throw PollFailure(.status, "register \(register.hexName): the BMS answered \"\(status)\"")
        }
        return reply
    }

    /// Reads a register some boards lack: nil for any kind of "no". An error status ends it at
    /// once; silence or a corrupt reply gets the usual retry, since it is read once per connection.
    func readOptional(_ register: Register) async -> Reply? {
        guard let reply = try? await read(register) else { return nil }
        if case .error = reply { return nil }
        return reply
    }
}
