import Basics
import JBD
import Synchronization

/// Turns the chunks a link receives into the reply a request is waiting for.
///
/// Armed before the request is sent, so a reply that overtakes the waiting code is kept.
/// Frames for other registers (strays, late replies to an earlier attempt) are dropped;
/// frames that fail validation are counted, so a timeout can say "only corrupt frames
/// arrived" instead of "nothing arrived". A frame byte-identical to the request just sent is
/// the module echoing it (an unpaired module that trusts nobody): that ends the wait at once
/// with reason `auth`, since no reply will ever come.
final class ReplyInbox: Sendable {
    /// What an armed request waits for.
    enum Awaited: Sendable, Equatable {
        /// A `DD` reply frame for this register.
        case register(UInt8)
        /// An `FF AA` reply to this command of the password exchange.
        case auth(UInt8)
    }

    /// A reply that ends a wait.
    enum Received: Sendable {
        case frame(Frame)
        case auth(AuthReply)
    }

    private struct Expectation {
        let ticket: UInt64
        let awaited: Awaited
        /// The bytes sent for this wait, to recognise an echo.
        let request: [UInt8]
        var result: Result<Received, any Error>?
        var continuation: CheckedContinuation<Received, any Error>?
        var invalidFrames = 0
        /// Cancels the deadline a `PostingLink` runs for this request; called once it is settled.
        var cancelDeadline: (@Sendable () -> Void)?
    }

    private struct State {
        var assembler = FrameAssembler()
        var authScanner = AuthReplyScanner()
        var expectation: Expectation?
        var nextTicket: UInt64 = 0
        var lostReason: String?
    }

    /// What the log and `read` say when a module echoes requests.
    static let echoMessage = "the module echoes our requests back instead of answering: it needs Bluetooth pairing"
        + " with its 6-digit PIN; run `bms_exporter pair --address <address> --pin-file <file>` once"

    private let state = Mutex(State())

    /// Why the link went away, once it has.
    var lostReason: String? { state.withLock { $0.lostReason } }

    /// Called by the link for every chunk it receives.
    func receive(_ chunk: [UInt8]) {
        var cancelDeadline: (@Sendable () -> Void)?
        let toResume: (CheckedContinuation<Received, any Error>, Result<Received, any Error>)? = state.withLock { state in
            state.assembler.append(chunk)
            var outcomes: [Result<Received, any Error>] = []
            while let event = state.assembler.next() {
                switch event {
                case let .success(frame):
                    guard let expectation = state.expectation, expectation.result == nil else { continue }
                    if frame.bytes == expectation.request {
                        outcomes.append(.failure(PollFailure(.auth, Self.echoMessage)))
                    } else if case let .register(register) = expectation.awaited, frame.register == register {
                        outcomes.append(.success(.frame(frame)))
                    }
                    // Anything else is a frame nothing waits for: a late or unsolicited reply.
                case .failure(.garbageSkipped):
                    continue
                case .failure:
                    state.expectation?.invalidFrames += 1
                }
            }
            // FF AA replies are looked for only while the password exchange waits for one.
            if case let .auth(command)? = state.expectation?.awaited {
                state.authScanner.append(chunk)
                while let (bytes, reply) = state.authScanner.nextFrame() {
                    if bytes == state.expectation?.request {
                        outcomes.append(.failure(PollFailure(.auth, Self.echoMessage)))
                    } else if reply.command == command {
                        outcomes.append(.success(.auth(reply)))
                    }
                }
            } else {
                state.authScanner = AuthReplyScanner()
            }
            guard let outcome = outcomes.first, var expectation = state.expectation, expectation.result == nil else {
                return nil
            }
            cancelDeadline = expectation.cancelDeadline
            expectation.cancelDeadline = nil
            if let continuation = expectation.continuation {
                state.expectation = nil
                return (continuation, outcome)
            }
            expectation.result = outcome
            state.expectation = expectation
            return nil
        }
        cancelDeadline?()
        if let (continuation, outcome) = toResume { continuation.resume(with: outcome) }
    }

    /// Called by the link when it drops: whoever waits learns it at once.
    func linkLost(_ reason: String) {
        let continuation = state.withLock { state -> CheckedContinuation<Received, any Error>? in
            state.lostReason = state.lostReason ?? reason
            let continuation = state.expectation?.continuation
            if continuation != nil { state.expectation = nil } else { state.expectation?.result = .failure(Self.lost(reason)) }
            return continuation
        }
        continuation?.resume(throwing: Self.lost(reason))
    }

    /// Starts expecting a reply for `register`; call right before sending the request, whose
    /// bytes are `request` (an echo of them fails the wait).
    ///
    /// Bytes already received cannot be (part of) the answer to a request not yet written:
    /// the assembler starts afresh, so a frame begun before the request (a stray, a late reply
    /// to an earlier request) is not completed into an answer by bytes arriving after it.
    func arm(_ register: UInt8, request: [UInt8] = []) -> UInt64 {
        arm(.register(register), request: request)
    }

    /// Starts expecting `awaited`; call right before sending `request`.
    func arm(_ awaited: Awaited, request: [UInt8]) -> UInt64 {
        state.withLock { state in
            state.assembler = FrameAssembler()
            state.nextTicket += 1
            var expectation = Expectation(ticket: state.nextTicket, awaited: awaited, request: request)
            if let reason = state.lostReason { expectation.result = .failure(Self.lost(reason)) }
            state.expectation = expectation
            return state.nextTicket
        }
    }

    /// Starts expecting a reply for `register` with its deadline, `timeout` from now, run by
    /// `link` on the thread that delivers replies; call before posting `request`, then `wait`
    /// without a timeout. A reply (or echo) that arrives in time cancels the deadline where it arrives.
    func arm(_ register: UInt8, request: [UInt8], timeout: Duration, on link: any PostingLink) -> UInt64 {
        let ticket = arm(register, request: request)
        let cancel = link.schedule(at: .now + timeout) { [weak self] in self?.expire(ticket, after: timeout) }
        let settled = state.withLock { state -> Bool in
            guard state.expectation?.ticket == ticket, state.expectation?.result == nil else { return true }
            state.expectation?.cancelDeadline = cancel
            return false
        }
        if settled { cancel() }
        return ticket
    }

    /// Ends the wait for `ticket` with `failure` (e.g. the request could not be sent).
    func fail(_ ticket: UInt64, with failure: PollFailure) {
        finish(ticket, with: failure)
    }

    /// Waits for the armed reply frame, at most `timeout`; nil when the deadline was armed with
    /// the reply thread (`arm(_:request:timeout:on:)`), so no timer task is needed here.
    func wait(_ ticket: UInt64, timeout: Duration?) async throws(PollFailure) -> Frame {
        switch try await waitForAny(ticket, timeout: timeout) {
        case let .frame(frame): return frame
        case .auth: throw PollFailure(.decode, "a password-exchange reply arrived where a frame was expected")
        }
    }

    /// Waits for the armed FF AA reply, at most `timeout`.
    func waitForAuth(_ ticket: UInt64, timeout: Duration) async throws(PollFailure) -> AuthReply {
        switch try await waitForAny(ticket, timeout: timeout) {
        case let .auth(reply): return reply
        case .frame: throw PollFailure(.decode, "a frame arrived where a password-exchange reply was expected")
        }
    }

    private func waitForAny(_ ticket: UInt64, timeout: Duration?) async throws(PollFailure) -> Received {
        let timer = timeout.map { timeout in
            Task { [weak self] in
                try await Task.sleep(for: timeout)
                self?.expire(ticket, after: timeout)
            }
        }
        defer { timer?.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let ready: Result<Received, any Error>? = state.withLock { state in
                        guard var expectation = state.expectation, expectation.ticket == ticket else {
                            return .failure(PollFailure(.timeout, "no reply (request superseded)"))
                        }
                        if let result = expectation.result {
                            state.expectation = nil
                            return result
                        }
                        expectation.continuation = continuation
                        state.expectation = expectation
                        return nil
                    }
                    if let ready { continuation.resume(with: ready) }
                }
            } onCancel: {
                self.finish(ticket, with: CancellationError())
            }
        } catch let failure as PollFailure {
            throw failure
        } catch {
            throw PollFailure(.timeout, "cancelled while waiting for a reply")
        }
    }

    private func expire(_ ticket: UInt64, after timeout: Duration) {
        let invalid = state.withLock { $0.expectation?.ticket == ticket ? $0.expectation?.invalidFrames ?? 0 : 0 }
        let failure = invalid > 0
            ? PollFailure(.checksum, "no valid reply within \(DurationText.format(timeout)), \(invalid) corrupt frame(s) received")
            : PollFailure(.timeout, "no reply within \(DurationText.format(timeout))")
        finish(ticket, with: failure)
    }

    /// Ends the wait for `ticket` with an error, or records it when the waiter has not parked yet.
    private func finish(_ ticket: UInt64, with error: any Error) {
        var cancelDeadline: (@Sendable () -> Void)?
        let continuation = state.withLock { state -> CheckedContinuation<Received, any Error>? in
            guard var expectation = state.expectation, expectation.ticket == ticket, expectation.result == nil else {
                return nil
            }
            cancelDeadline = expectation.cancelDeadline
            expectation.cancelDeadline = nil
            guard let continuation = expectation.continuation else {
                expectation.result = .failure(error)
                state.expectation = expectation
                return nil
            }
            state.expectation = nil
            return continuation
        }
        cancelDeadline?()
        continuation?.resume(throwing: error)
    }

    private static func lost(_ reason: String) -> PollFailure {
        PollFailure(.linkLost, "link lost: \(reason)")
    }
}
