import JBD

/// What a battery says about itself, read once per connection and best effort: kept across
/// connections, so a board that stops answering 0x05 keeps its last known model.
struct BatteryIdentity: Sendable {
    var model: String?
    var protectionCounters: ProtectionCounters?
    /// Whether 0x05 and 0xAA were asked on the current connection.
    var readOnThisConnection = false
}

extension BMSClient {
    /// The one sequence behind `serve`'s polls and `read`: 0x03 and 0x04 (required), then, once
    /// per connection, 0x05 and 0xAA (best effort), paired into one consistent reading.
    func readReading(identity: inout BatteryIdentity) async throws(PollFailure) -> Reading {
        guard case let .basicInfo(info) = try await readRequired(.basicInfo) else {
            throw PollFailure(.decode, "register 0x03 answered with another register")
        }
        guard case let .cellVoltages(cells) = try await readRequired(.cellVoltages) else {
            throw PollFailure(.decode, "register 0x04 answered with another register")
        }
        if !identity.readOnThisConnection {
            identity.readOnThisConnection = true
            if case let .hardwareVersion(model)? = await readOptional(.hardwareVersion) {
                identity.model = model
            }
            if case let .protectionCounters(counters)? = await readOptional(.protectionCounters) {
                identity.protectionCounters = counters
            }
        }
        return try Reading(
            basicInfo: info, cells: cells, model: identity.model, protectionCounters: identity.protectionCounters,
            timestamp: WallClock.now()
        )
    }
}

/// What `bms_exporter read` does: connect, read once, disconnect.
public enum OneShotRead {
    /// Reads one reading over `link` (see `BMSClient.readReading`), then disconnects whatever
    /// happened. Throws a `PollFailure` saying what failed. With a `deadline`, no request waits
    /// past it (the disconnect still runs afterwards).
    public static func read(
        link: any BMSLink, connectTimeout: Duration, requestTimeout: Duration = .seconds(1), attempts: Int = 3,
        unlock: ModuleUnlock? = nil, deadline: ContinuousClock.Instant? = nil
    ) async throws(PollFailure) -> Reading {
        let inbox = ReplyInbox()
        do throws(LinkError) {
            try await link.connect(timeout: connectTimeout, receive: { inbox.receive($0) }, linkLost: { inbox.linkLost($0) })
        } catch {
            await link.disconnect()
            throw PollFailure(error)
        }
        let client = BMSClient(
            link: link, inbox: inbox, requestTimeout: requestTimeout, attempts: attempts, deadline: deadline)
        var identity = BatteryIdentity()
        do throws(PollFailure) {
            if let unlock { try await client.unlock(unlock) }
            let reading = try await client.readReading(identity: &identity)
            await link.disconnect()
            return reading
        } catch {
            await link.disconnect()
            throw error
        }
    }
}
