import Basics
import JBD
import Synchronization

/// A link to a `SimulatedBattery`, in process: replies arrive after a BLE-like delay, in
/// 20-byte chunks, and now and then not at all or corrupted, so health metrics move too.
public final class SimulatedLink: BMSLink {
    /// Fraction of replies that arrive with a broken checksum (the retry usually recovers).
    static let corruptionRate = 0.03
    /// Every this many polls the BMS stays silent for a whole poll, which fails it.
    static let silentPollEvery = 40

    private struct State {
        var receive: (@Sendable ([UInt8]) -> Void)?
        var requests = 0
    }

    private let state = Mutex(State())
    private let started = ContinuousClock.now
    private let replyDelay: Duration

    public init(replyDelay: Duration = .milliseconds(60)) {
        self.replyDelay = replyDelay
    }

    public func connect(
        timeout: Duration, receive: @escaping @Sendable ([UInt8]) -> Void,
        linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError) {
        state.withLock { $0.receive = receive }
    }

    public func send(_ request: ReadRequest) async throws(LinkError) {
        let (receive, count) = state.withLock { state in
            state.requests += 1
            return (state.receive, state.requests)
        }
        guard let receive else { throw .linkLost("simulated link is not connected") }
        // Two requests (0x03, 0x04) per poll plus retries: a silent stretch of four requests fails one poll.
        let silentWindow = count % (Self.silentPollEvery * 2)
        if silentWindow < 4 && count > 8 { return }
        var frame = SimulatedBattery.reply(to: request.register, elapsed: (ContinuousClock.now - started).seconds).bytes
        if Double.random(in: 0..<1) < Self.corruptionRate { frame[frame.count - 2] ^= 0x5A }
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
