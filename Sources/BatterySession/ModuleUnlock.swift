import JBD

/// What a module with a password ("FF AA" module) needs before it answers reads: the password
/// set in the vendor app, and the module's address, which the password is mixed with.
public struct ModuleUnlock: Sendable, Equatable {
    public let password: ModulePassword
    public let macAddress: MACBytes

    public init(password: ModulePassword, macAddress: MACBytes) {
        self.password = password
        self.macAddress = macAddress
    }
}

extension BMSClient {
    /// Runs the password exchange once on a fresh connection: app key, then challenge and
    /// password when the module asks for one. Returns when reads may follow.
    ///
    /// A module that never answers the app key is taken for one without the exchange: reads
    /// follow, and a locked module shows itself by not answering them.
    func unlock(_ unlock: ModuleUnlock) async throws(PollFailure) {
        let greeting: AuthReply
        do throws(PollFailure) {
            greeting = try await exchange(.appKey, attempts: attempts)
        } catch where error.reason == .timeout {
            return
        }
        switch greeting {
        case .noPasswordSet:
            return
        case .passwordRequired:
            break
        case .appKeyRejected:
            throw PollFailure(.auth, "the module refused the app key of the password exchange")
        default:
            throw PollFailure(.auth, "the module answered the app key with \(greeting)")
        }
        guard case let .challenge(challenge) = try await exchange(.challenge, attempts: attempts) else {
            throw PollFailure(.auth, "the module did not send a challenge for the password")
        }
        // One guess per challenge: the module ignores a repeated password frame.
        let verdict = try await exchange(
            .password(unlock.password, macAddress: unlock.macAddress, challenge: challenge), attempts: 1)
        switch verdict {
        case .passwordAccepted:
            return
        case .passwordRejected:
            throw PollFailure(.auth, Self.wrongPasswordMessage)
        default:
            throw PollFailure(.auth, "the module answered the password with \(verdict)")
        }
    }

    static let wrongPasswordMessage = "the module refused the password from the password file: put the password"
        + " set in the vendor app (6 characters) into it"

    /// Sends one step and waits for its reply, asking again after silence.
    private func exchange(_ request: AuthRequest, attempts: Int) async throws(PollFailure) -> AuthReply {
        let command = request.bytes[2]
        var lastFailure = PollFailure(.timeout, "no reply")
        for _ in 0..<max(1, attempts) {
            let ticket = inbox.arm(.auth(command), request: request.bytes)
            do throws(LinkError) {
                try await link.send(request)
            } catch {
                throw PollFailure(error)
            }
            do throws(PollFailure) {
                return try await inbox.waitForAuth(ticket, timeout: requestTimeout)
            } catch where error.reason == .timeout {
                lastFailure = error
                if Task.isCancelled { break }
            }
        }
        throw PollFailure(lastFailure.reason, "password exchange 0x\(String(command, radix: 16)): \(lastFailure.message)")
    }
}

extension ModuleUnlock {
    /// Builds the unlock from a password file's text and the battery's address, for callers
    /// that do not speak the protocol's types. A trailing line break is ignored. Throws a
    /// sentence naming the problem; it never contains the text itself.
    public init(passwordFileText text: String, address: String) throws(ModuleUnlockProblem) {
        var trimmed = Substring(text)
        while let last = trimmed.last, last == "\n" || last == "\r" { trimmed = trimmed.dropLast() }
        guard let password = ModulePassword(String(trimmed)) else {
            throw ModuleUnlockProblem(
                "must hold exactly the 6-character password set in the vendor app (printable ASCII, no spaces),"
                    + " found \(trimmed.count) character(s)")
        }
        guard let mac = MACBytes(text: address) else {
            throw ModuleUnlockProblem("\(address) is not a Bluetooth address")
        }
        self.init(password: password, macAddress: mac)
    }
}

/// Why a password file cannot be used.
public struct ModuleUnlockProblem: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
