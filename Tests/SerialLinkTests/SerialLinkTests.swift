import BatterySession
import Foundation
import JBD
import SerialLink
import SerialPort
import TestSupport
import Testing

/// `SerialLink` under the session's own read sequence (`OneShotRead`), against the fake serial
/// BMS on a real pseudo-terminal, one fault at a time.
@Suite struct SerialLinkTests {
    static let cells = [3412, 3398, 3421, 3405]

    /// A fake with distinctive cells, and a link to it as `serve` builds one for a 1 s request timeout.
    static func start(faults: [String: Any] = [:]) async throws -> (FakeSerialLine, SerialLink) {
        let fake = try await FakeSerialLine.start(battery: ["bms": ["cells_mv": cells, "current_a": -3.21], "faults": faults])
        return (fake, SerialLink(path: fake.link, replyWindow: .seconds(1)))
    }

    static func read(_ link: SerialLink) async -> Result<Reading, PollFailure> {
        do throws(PollFailure) {
            return .success(try await OneShotRead.read(link: link, connectTimeout: .seconds(5), requestTimeout: .seconds(1), attempts: 2))
        } catch {
            return .failure(error)
        }
    }

    /// Every fault that leaves a whole reply on the line yields exactly the fake's values.
    @Test(arguments: [
        ("none", [:]),
        ("echo", ["echo": true]),
        ("split", ["split": ["pieces": 4, "gap_ms": 120]]),
        ("garbage", ["garbage": true]),
        ("garbage with a false start", ["garbage": "00dd0104"]),
        ("first reply corrupt", ["corrupt_checksum": 1]),
        ("first request unanswered", ["silent": 1]),
        ("echo, split and garbage", ["echo": true, "split": ["pieces": 3, "gap_ms": 150], "garbage": true]),
    ] as [(String, [String: any Sendable])])
    func wholeRepliesReadCorrectly(_ name: String, _ faults: [String: any Sendable]) async throws {
        let (fake, link) = try await Self.start(faults: faults)
        let reading = try await Self.read(link).get()
        #expect(reading.cells.millivolts == Self.cells, "fault: \(name)")
        #expect(reading.basicInfo.currentAmperes == -3.21, "fault: \(name)")
        let writes = try await fake.command(["cmd": "get_writes"])["writes"] as? [[String: Any]] ?? []
        #expect(!writes.isEmpty && writes.allSatisfy { $0["allowed"] as? Bool == true }, "fault: \(name)")
        await fake.close()
    }

    @Test func aSilentBoardIsATimeoutNotALostLink() async throws {
        let (fake, link) = try await Self.start(faults: ["silent": true])
        let failure = await Self.read(link).failure
        #expect(failure?.reason == .timeout)
        // The session's inbox timed out (the link reports no silence of its own).
        #expect(failure?.message.contains("no reply within 1s") == true, "\(String(describing: failure))")
        let requests = try await fake.state()["requests_received"] as? Int
        #expect(requests == 2, "one request and its one retry")
        await fake.close()
    }

    @Test func onlyCorruptRepliesAreAChecksumFailure() async throws {
        let (fake, link) = try await Self.start(faults: ["corrupt_checksum": true])
        #expect(await Self.read(link).failure?.reason == .checksum)
        await fake.close()
    }

    @Test func aMissingDeviceIsNotFound() async throws {
        let link = SerialLink(path: "/dev/serial/by-id/no-such-adapter", replyWindow: .seconds(1))
        let failure = await Self.read(link).failure
        #expect(failure?.reason == .notFound)
        #expect(failure?.message.contains("/dev/serial/by-id/no-such-adapter") == true)
    }

    @Test func somethingThatIsNotATerminalIsRefused() async throws {
        let link = SerialLink(path: "/dev/null", replyWindow: .seconds(1))
        #expect(await Self.read(link).failure?.reason == .connect)
    }

    /// Unplugged mid-connection: the next request reports the link lost; while away the path
    /// is not found; plugged back under another pty number, the same path reads again.
    @Test func unplugAndReplugUnderAnotherNumber() async throws {
        let (fake, link) = try await Self.start()
        let inbox = LossRecorder()
        try await link.connect(timeout: .seconds(5), receive: { _ in }, linkLost: { inbox.record($0) })
        let before = try await fake.state()["slave"] as? String
        try await fake.command(["cmd": "unplug"])
        try await link.send(ReadRequest(.basicInfo))
        let reason = await inbox.wait()
        #expect(reason.contains("went away"))
        await link.disconnect()
        #expect(await Self.read(link).failure?.reason == .notFound)
        let after = try await fake.command(["cmd": "replug"])["slave"] as? String
        #expect(after != nil && after != before)
        #expect(try await Self.read(link).get().cells.millivolts == Self.cells)
        await fake.close()
    }

    @Test func twoLinksNeverShareALine() async throws {
        let (fake, link) = try await Self.start()
        try await link.connect(timeout: .seconds(5), receive: { _ in }, linkLost: { _ in })
        let second = SerialLink(path: fake.link, replyWindow: .seconds(1))
        let failure = await Self.read(second).failure
        #expect(failure?.reason == .connect)
        #expect(failure?.message.contains("in use") == true)
        await link.disconnect()
        #expect(try await Self.read(second).get().cells.millivolts == Self.cells)
        await fake.close()
    }
}

/// Collects the one link-loss report and lets a test wait for it without sleeping.
final class LossRecorder: Sendable {
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    func record(_ reason: String) { continuation.yield(reason) }

    func wait() async -> String {
        for await reason in stream { return reason }
        return ""
    }
}

extension Result {
    var failure: Failure? {
        if case let .failure(error) = self { return error }
        return nil
    }
}
