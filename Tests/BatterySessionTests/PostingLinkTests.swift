@testable import BatterySession
import JBD
import Synchronization
import Testing

/// A `ScriptedLink` that posts its requests and runs deadlines on its own timer table, so the
/// tests can see that `BMSClient` takes the posting path: every deadline goes through
/// `schedule`, and settled requests cancel theirs.
final class PostingScriptedLink: PostingLink {
    struct Timers {
        var scheduled = 0
        var cancelled = 0
        var fired = 0
    }

    let scripted = ScriptedLink()
    let timers = Mutex(Timers())
    /// When set, every posted request fails with this error instead of reaching the BMS.
    let postFailure = Mutex<LinkError?>(nil)

    func connect(
        timeout: Duration, receive: @escaping @Sendable ([UInt8]) -> Void, linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError) {
        try await scripted.connect(timeout: timeout, receive: receive, linkLost: linkLost)
    }

    func send(_ request: ReadRequest) async throws(LinkError) {
        Issue.record("a posting link's requests must be posted, not sent")
        try await scripted.send(request)
    }

    func post(_ request: ReadRequest, failed: @escaping @Sendable (LinkError) -> Void) throws(LinkError) {
        let scripted = self.scripted
        let failure = postFailure.withLock { $0 }
        // The transport answers later, on another thread, as BlueZ's WriteValue reply does.
        Task {
            if let failure { return failed(failure) }  // BlueZ refused the write: the BMS saw nothing
            do throws(LinkError) {
                try await scripted.send(request)
            } catch {
                failed(error)
            }
        }
    }

    func schedule(
        at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void
    ) -> @Sendable () -> Void {
        timers.withLock { $0.scheduled += 1 }
        let timer = Task { [self] in
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
            timers.withLock { $0.fired += 1 }
            action()
        }
        return { [self] in
            timers.withLock { $0.cancelled += 1 }
            timer.cancel()
        }
    }

    func disconnect() async { await scripted.disconnect() }

    func signalStrength() async -> Int? { -70 }
}

@Suite struct PostingLinkTests {
    @Test func answeredRequestsCancelTheirDeadlinesAndNeverSendTheOldWay() async throws {
        let link = PostingScriptedLink()
        // Deadlines a minute away, so none can fire on a loaded machine before its answer comes.
        let reading = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .seconds(60))
        #expect(reading.cells.millivolts == [3301, 3299, 3301, 3304])
        #expect(link.scripted.state.withLock { $0.sent.map(\.register) }
            == [.basicInfo, .cellVoltages, .hardwareVersion, .protectionCounters])
        let timers = link.timers.withLock { $0 }
        #expect(timers.scheduled == 4)
        #expect(timers.cancelled == 4)
        #expect(timers.fired == 0)
    }

    @Test func theLinksDeadlineEndsAnUnansweredRequestWhichIsRetried() async throws {
        let link = PostingScriptedLink()
        link.scripted.script(.basicInfo, .silent)
        let reading = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .milliseconds(300))
        #expect(reading.basicInfo.voltageVolts == 13.2)
        // At least the silent request's deadline fired; on a loaded machine a slow answer may add one.
        #expect(link.scripted.state.withLock { $0.sent.filter { $0.register == .basicInfo }.count } >= 2)
        #expect(link.timers.withLock { $0.fired } >= 1)
    }

    @Test func aFailedWriteEndsTheWaitAtOnceAsALinkLoss() async {
        let link = PostingScriptedLink()
        link.postFailure.withLock { $0 = .linkLost("writing to A4:C1:38:00:00:01 failed: Not connected") }
        let clock = ContinuousClock()
        let started = clock.now
        // The request's deadline is a minute away: only the write's failure can end it sooner.
        await #expect {
            _ = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .seconds(60))
        } throws: { error in
            guard let failure = error as? PollFailure else { return false }
            return failure.reason == .linkLost && failure.message.contains("writing to A4:C1:38:00:00:01 failed")
        }
        #expect(clock.now - started < .seconds(30))
    }

    @Test func sleepingOnTheLinksTimerEndsAtTheDeadline() async throws {
        let link = PostingScriptedLink()
        let deadline = ContinuousClock.now + .milliseconds(100)
        try await link.sleep(until: deadline)
        #expect(ContinuousClock.now >= deadline)
        #expect(link.timers.withLock { ($0.scheduled, $0.fired) } == (1, 1))
    }

    @Test func cancellingASleepOnTheLinksTimerEndsItAtOnceAndCancelsTheTimer() async {
        let link = PostingScriptedLink()
        let (started, sink) = AsyncStream<Void>.makeStream()
        let sleeper = Task {
            sink.yield()
            try await link.sleep(until: .now + .seconds(3600))
        }
        var iterator = started.makeAsyncIterator()
        await iterator.next()
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        // Cancelled before or after it parked: either way no timer is left behind.
        let timers = link.timers.withLock { $0 }
        #expect(timers.fired == 0)
        #expect(timers.scheduled == timers.cancelled)
    }
}
