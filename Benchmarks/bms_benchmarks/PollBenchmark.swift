import BMSConfig
import BatterySession
import BluetoothLink
import BlueZ
import JBD
import Logging
import Synchronization
import TestSupport

/// Item 3: full polls (0x03 + 0x04) through the real path — `BatteryPoller`, `BLELink`,
/// the BlueZ client and libdbus — against the fake BlueZ with every delay at zero.
///
/// The link is wrapped so that each poll is timed from the moment the poller sends 0x03
/// until it asks for the RSSI right after the reading is complete; the process CPU time
/// (getrusage, all our threads: the poller's tasks and the D-Bus I/O thread) is taken at
/// the same two points. The fake (python) and the bus daemon run in other processes; their
/// CPU is measured from /proc over the whole run and reported separately, never subtracted.
enum PollBenchmark {
    struct Result {
        let wallMicroseconds: Summary
        let cpuMicroseconds: Summary
        let polls: Int
        /// Our whole process's CPU over the run, divided by polls (includes the scheduling between polls).
        let processCPUPerPollMicroseconds: Double
        let fakeCPUPerPollMicroseconds: Double?
        let busCPUPerPollMicroseconds: Double?
        let failures: Int
    }

    static func run(polls: Int, warmUp: Int = 50) async throws -> Result {
        let world = try await FakeWorld.start(batteries: 1)
        defer { world.stop() }
        let stack = BluetoothStack(busAddress: world.fake.busAddress)
        let link = TimedLink(BLELink(stack: stack, address: world.addresses[0], adapter: "hci0"), keep: warmUp + polls)
        var schedule = PollSchedule(pollInterval: .milliseconds(1))
        // Back to back, but with the production request timeout rather than half of 1 ms.
        schedule.requestTimeout = .seconds(1)
        schedule.connectTimeout = .seconds(10)
        let store = StatusStore([BatteryStatus(name: "bench", address: world.addresses[0], maxAgeSeconds: 30)])
        var logger = Logger(label: "bms_benchmarks")
        logger.logLevel = .error
        let poller = BatteryPoller(name: "bench", link: link, store: store, schedule: schedule, logger: logger)

        let task = Task { await poller.run() }
        try await link.waitForPolls(warmUp)
        let helpers = world.helperPIDs
        let fakeBefore = helpers.fake.flatMap(ProcessStats.cpuSeconds)
        let busBefore = helpers.bus.flatMap(ProcessStats.cpuSeconds)
        let ownBefore = ProcessStats.ownCPUSeconds()
        try await link.waitForPolls(warmUp + polls)
        let ownAfter = ProcessStats.ownCPUSeconds()
        let fakeAfter = helpers.fake.flatMap(ProcessStats.cpuSeconds)
        let busAfter = helpers.bus.flatMap(ProcessStats.cpuSeconds)
        task.cancel()
        await task.value
        await stack.close()

        let samples = Array(link.samples.dropFirst(warmUp).prefix(polls))
        let failures = store.snapshot()[0].failures.values.reduce(0, +)
        func perPoll(_ before: Double?, _ after: Double?) -> Double? {
            guard let before, let after else { return nil }
            return (after - before) * 1e6 / Double(samples.count)
        }
        return Result(
            wallMicroseconds: Summary(samples.map(\.wall)),
            cpuMicroseconds: Summary(samples.map(\.cpu)),
            polls: samples.count,
            processCPUPerPollMicroseconds: (ownAfter - ownBefore) * 1e6 / Double(samples.count),
            fakeCPUPerPollMicroseconds: perPoll(fakeBefore, fakeAfter),
            busCPUPerPollMicroseconds: perPoll(busBefore, busAfter),
            failures: failures
        )
    }
}

/// A `BMSLink` that forwards to another and times each poll: from sending 0x03 to the
/// poller's RSSI query that follows a complete reading.
final class TimedLink: BMSLink {
    struct Sample: Sendable {
        let wall: Double
        let cpu: Double
    }

    private struct State {
        var started: (wall: ContinuousClock.Instant, cpu: Double)?
        var samples: [Sample] = []
        var waiter: (count: Int, continuation: CheckedContinuation<Void, Never>)?
    }

    private let inner: any BMSLink
    private let state = Mutex(State())
    private let keep: Int

    init(_ inner: any BMSLink, keep: Int) {
        self.inner = inner
        self.keep = keep
        state.withLock { $0.samples.reserveCapacity(keep) }
    }

    var samples: [Sample] { state.withLock { $0.samples } }

    func connect(
        timeout: Duration, receive: @escaping @Sendable ([UInt8]) -> Void,
        linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError) {
        try await inner.connect(timeout: timeout, receive: receive, linkLost: linkLost)
    }

    func send(_ request: ReadRequest) async throws(LinkError) {
        if request.register == .basicInfo {
            let cpu = ProcessStats.ownCPUSeconds()
            let now = ContinuousClock.now
            state.withLock { $0.started = (now, cpu) }
        }
        try await inner.send(request)
    }

    func disconnect() async { await inner.disconnect() }

    func signalStrength() async -> Int? {
        let now = ContinuousClock.now
        let cpu = ProcessStats.ownCPUSeconds()
        let resume: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let started = state.started else { return nil }
            state.started = nil
            if state.samples.count < keep {
                state.samples.append(Sample(wall: (now - started.wall).nanoseconds / 1000, cpu: (cpu - started.cpu) * 1e6))
            }
            guard let waiter = state.waiter, state.samples.count >= waiter.count else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        resume?.resume()
        return await inner.signalStrength()
    }

    /// Returns once `count` polls have been timed (at most 10 minutes).
    func waitForPolls(_ count: Int) async throws {
        let timeout = Task {
            try await Task.sleep(for: .seconds(600))
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
            continuation?.resume()
        }
        defer { timeout.cancel() }
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.samples.count >= count { return true }
                state.waiter = (count, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
        let have = samples.count
        guard have >= count else { throw BenchmarkError.fake("only \(have) of \(count) polls completed in 10 minutes") }
    }
}
