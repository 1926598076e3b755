import Basics
import JBD
import Synchronization

/// A link to a `SimulatedBattery`, in process: replies arrive after a BLE-like delay, in
/// 20-byte chunks. In the `normal` scenario a reply now and then arrives corrupted or not at
/// all, so the health metrics move too; the other scenarios answer exactly as scripted.
public final class SimulatedLink: BMSLink {
    /// Fraction of replies that arrive with a broken checksum (the retry usually recovers).
    static let corruptionRate = 0.03
    /// Every this many polls the BMS stays silent for a whole poll, which fails it.
    static let silentPollEvery = 40

    private struct State {
        var receive: (@Sendable ([UInt8]) -> Void)?
        var requests = 0
        /// Polls begun: the scenario's step is this minus one.
        var polls = 0
        /// 0x03 requests in a row; `PollSchedule.attemptsPerRequest` of them are one poll's retries.
        var basicInfoRun = 0
    }

    private let state = Mutex(State())
    private let started = ContinuousClock.now
    private let replyDelay: Duration
    private let simulation: Simulation

    /// A scenario advances one step per poll, counted from the requests: each poll starts with
    /// 0x03, so a delayed poll (a loaded machine, a backoff) shows the next step, never skips one.
    public init(simulation: Simulation = Simulation(), replyDelay: Duration = .milliseconds(60)) {
        self.simulation = simulation
        self.replyDelay = replyDelay
    }

    public func connect(
        timeout: Duration, receive: @escaping @Sendable ([UInt8]) -> Void,
        linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError) {
        state.withLock { $0.receive = receive }
    }

    public func send(_ request: ReadRequest) async throws(LinkError) {
        let now = ContinuousClock.now
        let (receive, count, polls) = state.withLock { state in
            state.requests += 1
            if request.register == .basicInfo {
                if state.basicInfoRun % PollSchedule.attemptsPerRequest == 0 { state.polls += 1 }
                state.basicInfoRun += 1
            } else {
                state.basicInfoRun = 0
            }
            return (state.receive, state.requests, state.polls)
        }
        guard let receive else { throw .linkLost("simulated link is not connected") }
        let normal = simulation.scenario == .normal
        if normal {
            // Two requests (0x03, 0x04) per poll plus retries: a silent stretch of four requests fails one poll.
            let silentWindow = count % (Self.silentPollEvery * 2)
            if silentWindow < 4 && count > 8 { return }
        }
        guard let battery = simulation.scenario.state(
            atPoll: max(polls - 1, 0), elapsed: (now - started).seconds, silencePolls: simulation.silencePolls
        ) else {
            return  // a silent BMS: the request times out
        }
        var frame = SimulatedBattery.reply(to: request.register, state: battery).bytes
        if normal, Double.random(in: 0..<1) < Self.corruptionRate { frame[frame.count - 2] ^= 0x5A }
        let delay = replyDelay
        Task {
            try? await Task.sleep(for: delay)
            for start in stride(from: 0, to: frame.count, by: 20) {
                receive(Array(frame[start..<min(start + 20, frame.count)]))
            }
        }
    }

    public func disconnect() async {
        state.withLock { $0.receive = nil }
    }

    public func signalStrength() async -> Int? {
        -62 + Int((ContinuousClock.now - started).seconds / 7) % 5
    }
}
