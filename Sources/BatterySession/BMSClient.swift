import JBD

/// Request/reply over a connected link: one request in flight, a timeout per request, and
/// a retry, because the first request after connecting or waking is often not answered.
struct BMSClient: Sendable {
    let link: any BMSLink
    let inbox: ReplyInbox
    let requestTimeout: Duration
    let attempts: Int

    /// Reads one register. A BMS error status comes back as `.error`, not as a failure.
    func read(_ register: Register, attempts: Int? = nil) async throws(PollFailure) -> Reply {
        var lastFailure = PollFailure(.timeout, "no reply")
        for _ in 0..<max(1, attempts ?? self.attempts) {
            let ticket = inbox.arm(register.rawValue)
            do throws(LinkError) {
                try await link.send(ReadRequest(register))
            } catch {
                throw PollFailure(error)
            }
            do throws(PollFailure) {
                let frame = try await inbox.wait(ticket, timeout: requestTimeout)
                do {
                    return try Reply(decoding: frame)
                } catch {
                    // A value no real pack can have means the reading cannot be trusted as a whole.
                    let reason: FailureReason = if case .implausible = error { .inconsistent } else { .decode }
                    throw PollFailure(reason, "register \(register.hexName): \(error)")
                }
            } catch where error.reason == .timeout || error.reason == .checksum {
                lastFailure = error
                if Task.isCancelled { break }
            }
        }
        throw PollFailure(lastFailure.reason, "register \(register.hexName): \(lastFailure.message)")
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
