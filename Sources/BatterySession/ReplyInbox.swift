import Basics
import JBD
import Synchronization

/// Turns the chunks a link receives into the reply a request is waiting for.
///
/// Armed before the request is sent, so a reply that overtakes the waiting code is kept.
/// Frames for other registers (strays, late replies to an earlier attempt) are dropped;
/// frames that fail validation are counted, so a timeout can say "only corrupt frames
/// arrived" instead of "nothing arrived".
final class ReplyInbox: Sendable {
    private struct Expectation {
        let ticket: UInt64
        let register: UInt8
        var result: Result<Frame, any Error>?
        var continuation: CheckedContinuation<Frame, any Error>?
        var invalidFrames = 0
        /// Cancels the deadline a `PostingLink` runs for this request; called once it is settled.
        var cancelDeadline: (@Sendable () -> Void)?
    }

    private struct State {
        var assembler = FrameAssembler()
        var expectation: Expectation?
        var nextTicket: UInt64 = 0
        var lostReason: String?
    }

    private let state = Mutex(State())

    /// Why the link went away, once it has.
    var lostReason: String? { state.withLock { $0.lostReason } }

    /// Called by the link for every chunk it receives.
    func receive(_ chunk: [UInt8]) {
        var cancelDeadline: (@Sendable () -> Void)?
        let toResume: (CheckedContinuation<Frame, any Error>, Frame)? = state.withLock { state in
            state.assembler.append(chunk)
            var resume: (CheckedContinuation<Frame, any Error>, Frame)?
            while let event = state.assembler.next() {
                switch event {
                case let .success(frame):
                    guard var expectation = state.expectation, expectation.result == nil,
                          frame.register == expectation.register
                    else {
                        // A frame nothing (or something else) waits for: a late or unsolicited reply.
                        continue
                    }
                    cancelDeadline = expectation.cancelDeadline
                    expectation.cancelDeadline = nil
                    if let continuation = expectation.continuation {
                        resume = (continuation, frame)
                        state.expectation = nil
                    } else {
                        expectation.result = .success(frame)
                        state.expectation = expectation
                    }
                case .failure(.garbageSkipped):
                    continue
                case .failure:
                    state.expectation?.invalidFrames += 1
                }
            }
            return resume
        }
        cancelDeadline?()
        if let (continuation, frame) = toResume { continuation.resume(returning: frame) }
    }

    /// Called by the link when it drops: whoever waits learns it at once.
    func linkLost(_ reason: String) {
        let continuation = state.withLock { state -> CheckedContinuation<Frame, any Error>? in
            state.lostReason = state.lostReason ?? reason
            let continuation = state.expectation?.continuation
            if continuation != nil { state.expectation = nil } else { state.expectation?.result = .failure(Self.lost(reason)) }
            return continuation
        }
        continuation?.resume(throwing: Self.lost(reason))
    }

    /// Starts expecting a reply for `register`; call before sending the request.
    func arm(_ register: UInt8) -> UInt64 {
        state.withLock { state in
            state.nextTicket += 1
            var expectation = Expectation(ticket: state.nextTicket, register: register)
            if let reason = state.lostReason { expectation.result = .failure(Self.lost(reason)) }
            state.expectation = expectation
            return state.nextTicket
        }
    }

    /// Starts expecting a reply for `register` with its deadline, `timeout` from now, run by
    /// `link` on the thread that delivers replies; call before posting the request, then `wait`
    /// without a timeout. A reply that arrives in time cancels the deadline where it arrives.
    func arm(_ register: UInt8, timeout: Duration, on link: any PostingLink) -> UInt64 {
        let ticket = arm(register)
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

    /// Waits for the armed reply, at most `timeout`; nil when the deadline was armed with the reply
    /// thread (`arm(_:timeout:on:)`), so no timer task is needed here.
    func wait(_ ticket: UInt64, timeout: Duration?) async throws(PollFailure) -> Frame {
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
                    let ready: Result<Frame, any Error>? = state.withLock { state in
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
        let continuation = state.withLock { state -> CheckedContinuation<Frame, any Error>? in
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
