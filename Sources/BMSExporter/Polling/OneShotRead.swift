import BMSConfig
import JBD

/// What `bms_exporter read` does: connect, read once, disconnect.
public enum OneShotRead {
    /// Reads 0x03 and 0x04 (required) and 0x05 and 0xAA (best effort) over `link`, then
    /// disconnects whatever happened. Throws a `PollFailure` saying what failed.
    public static func read(
        link: any BMSLink, connectTimeout: Duration, requestTimeout: Duration = .seconds(1), attempts: Int = 3
    ) async throws(PollFailure) -> Reading {
        let inbox = ReplyInbox()
        do {
            try await link.connect(timeout: connectTimeout, receive: { inbox.receive($0) }, linkLost: { inbox.linkLost($0) })
        } catch {
            await link.disconnect()
            throw error
        }
        let client = BMSClient(link: link, inbox: inbox, requestTimeout: requestTimeout, attempts: attempts)
        do throws(PollFailure) {
            guard case let .basicInfo(info) = try await client.readRequired(.basicInfo),
                  case let .cellVoltages(cells) = try await client.readRequired(.cellVoltages)
            else { throw PollFailure(.decode, "a register answered with another register's data") }
            var model: String?
            if case let .hardwareVersion(name)? = await client.readOptional(.hardwareVersion) { model = name }
            var counters: ProtectionCounters?
            if case let .protectionCounters(value)? = await client.readOptional(.protectionCounters) { counters = value }
            let reading = try Reading(
                basicInfo: info, cells: cells, model: model, protectionCounters: counters, timestamp: WallClock.now()
            )
            await link.disconnect()
            return reading
        } catch {
            await link.disconnect()
            throw error
        }
    }
}
