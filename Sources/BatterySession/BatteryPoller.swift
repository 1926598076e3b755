import Basics
import JBD
import Logging

/// Polls one battery for as long as its task runs: connect, read, publish, repeat.
///
/// One poller per battery, each in its own task, so a battery that hangs or is away
/// never delays another or the HTTP server. Cancelling the task disconnects the link.
public struct BatteryPoller: Sendable {
    public let name: String
    let link: any BMSLink
    let store: StatusStore
    let schedule: PollSchedule
    let logger: Logger
    /// The password exchange to run after each connect, for modules that need one.
    let unlock: ModuleUnlock?
    /// The battery's address, filled into remedies that name it.
    let address: String?
    /// For a battery beyond its adapter's link budget: the slot it shares with the others beyond
    /// it, held from connect to disconnect of each poll, so the adapter never holds more links
    /// than the budget. Nil: the battery polls on its own schedule.
    let turn: FairGate?

    public init(
        name: String, link: any BMSLink, store: StatusStore, schedule: PollSchedule, logger: Logger,
        unlock: ModuleUnlock? = nil, address: String? = nil, turn: FairGate? = nil
    ) {
        self.name = name
        self.turn = turn
        self.address = address
        self.unlock = unlock
        self.link = link
        self.store = store
        self.schedule = schedule
        var logger = logger
        logger[metadataKey: "battery"] = "\(name)"
        self.logger = logger
    }

    /// Polls until cancelled, then disconnects.
    public func run() async {
        var state = PollerState(backoff: Backoff(initial: schedule.initialBackoff, maximum: schedule.maximumBackoff))
        let clock = ContinuousClock()
        var nextPoll = clock.now
        while !Task.isCancelled {
            do {
                try await idle(until: nextPoll, state: &state, clock: clock)
            } catch {
                break
            }
            nextPoll = clock.now + schedule.pollInterval
            if let turn {
                do { try await turn.enter() } catch { break }
            }
            let failure = await pollOnce(state: &state, clock: clock)
            // A poll cut short by shutdown says nothing about the battery.
            let cancelled = Task.isCancelled
            if !cancelled, let failure {
                record(address.map(failure.naming(address:)) ?? failure, state: &state)
                if failure.reason.isConnectionFailure {
                    nextPoll = clock.now + state.backoff.next()
                }
            }
            if !schedule.keepConnected || cancelled { await dropConnection(&state) }
            turn?.leave()
            if cancelled { break }
        }
        await dropConnection(&state)
        store.update(name) { $0.connected = false }
    }

    /// One attempt: connect when needed, then read. Returns the failure, if any.
    private func pollOnce(state: inout PollerState, clock: ContinuousClock) async -> PollFailure? {
        do {
            let connection = try await connection(&state)
            let started = clock.now
            let reading = try await connection.client.readReading(identity: &state.identity)
            let finished = clock.now
            let duration = finished - started
            let rssi = await link.signalStrength()
            let paired = await link.pairingState()
            let uptime = Uptime.now()
            let sample = EnergyIntegrator.Sample(
                time: finished, volts: reading.basicInfo.voltageVolts, amperes: reading.basicInfo.currentAmperes
            )
            store.update(name) {
                $0.paired = paired
                $0.energy.add(sample)
                $0.store(reading, uptime: uptime)
                $0.lastPollSucceeded = true
                $0.lastPollDurationSeconds = duration.seconds
                $0.connected = true
                $0.rssi = rssi
            }
            state.consecutiveFailures = 0
            state.backoff.reset()
            logRecoveryIfNeeded(&state)
            return nil
        } catch {
            if state.consecutiveFailures >= 1 || error.reason.isConnectionFailure {
                await dropConnection(&state)
            }
            // Pairing is what an auth failure is often about, so show it even without a link.
            if let paired = await link.pairingState() { store.update(name) { $0.paired = paired } }
            return error
        }
    }

    private func connection(_ state: inout PollerState) async throws(PollFailure) -> Connection {
        if let connection = state.connection, connection.inbox.lostReason == nil {
            return connection
        }
        if state.connection != nil { await dropConnection(&state) }
        let inbox = ReplyInbox()
        let store = self.store
        let name = self.name
        do throws(LinkError) {
            try await link.connect(
                timeout: schedule.connectTimeout,
                receive: { inbox.receive($0) },
                linkLost: { reason in
                    inbox.linkLost(reason)
                    store.update(name) { $0.connected = false }
                }
            )
        } catch {
            throw PollFailure(error)
        }
        let client = BMSClient(
            link: link, inbox: inbox, requestTimeout: schedule.requestTimeout, attempts: PollSchedule.attemptsPerRequest)
        if let unlock {
            do throws(PollFailure) {
                try await client.unlock(unlock)
            } catch {
                await link.disconnect()
                throw error
            }
        }
        let connection = Connection(client: client, inbox: inbox)
        state.connection = connection
        let rssi = await link.signalStrength()
        store.update(name) {
            $0.connected = true
            $0.rssi = rssi
        }
        return connection
    }

    /// Sleeps until the next poll; on a connected, kept link, sends keep-alive reads meanwhile.
    private func idle(until deadline: ContinuousClock.Instant, state: inout PollerState, clock: ContinuousClock) async throws {
        while true {
            let remaining = deadline - clock.now
            guard remaining > .zero else { return }
            guard schedule.keepConnected, let connection = state.connection, remaining > schedule.keepAliveInterval else {
                try await sleep(until: deadline)
                return
            }
            try await sleep(until: clock.now + schedule.keepAliveInterval)
            // Any answer, even an error status, proves the link alive; a failure shows at the next poll.
            _ = try? await connection.client.read(.basicInfo, attempts: 1)
        }
    }

    /// Sleeps on the link's own timer where it has one (see `PostingLink`), else on the clock.
    private func sleep(until deadline: ContinuousClock.Instant) async throws {
        if let posting = link as? any PostingLink {
            try await posting.sleep(until: deadline)
            // The link's timer fires early when its connection ends; sleep out the rest.
            if ContinuousClock.now < deadline { try await Task.sleep(until: deadline, clock: .continuous) }
        } else {
            try await Task.sleep(until: deadline, clock: .continuous)
        }
    }

    private func record(_ failure: PollFailure, state: inout PollerState) {
        state.consecutiveFailures += 1
        store.update(name) {
            $0.failures[failure.reason, default: 0] += 1
            $0.lastPollSucceeded = false
        }
        // One line when a battery goes down or its trouble changes; repeats only count.
        if state.failureLog.level(for: failure) == .warning {
            logger.warning("battery unavailable: \(failure.message); retrying with backoff, repeats are counted in bms_poll_failures_total")
        } else {
            logger.debug("poll failed again: \(failure.message)")
        }
    }

    private func logRecoveryIfNeeded(_ state: inout PollerState) {
        if state.failureLog.isReporting || !state.everSucceeded {
            logger.info(state.everSucceeded ? "battery available again" : "first reading received")
        }
        state.failureLog.recovered()
        state.everSucceeded = true
    }

    private func dropConnection(_ state: inout PollerState) async {
        guard state.connection != nil else { return }
        state.connection = nil
        state.identity.readOnThisConnection = false
        await link.disconnect()
        store.update(name) { $0.connected = false }
    }
}

/// What one connection carries: the request/reply client over it and its inbox.
struct Connection: Sendable {
    let client: BMSClient
    let inbox: ReplyInbox
}

/// A poller's memory between polls.
struct PollerState {
    var backoff: Backoff
    var connection: Connection?
    var identity = BatteryIdentity()
    var consecutiveFailures = 0
    var failureLog = FailureLog()
    var everSucceeded = false
}

extension FailureReason {
    /// Failures that mean there is no usable link: retry with backoff instead of at the next tick.
    var isConnectionFailure: Bool {
        switch self {
        // Pairing and passwords do not fix themselves between two ticks either.
        case .adapter, .notFound, .connect, .linkLost, .auth: true
        default: false
        }
    }
}
