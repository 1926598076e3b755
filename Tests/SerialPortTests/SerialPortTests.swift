import Foundation
import SerialPort
import TestSupport
import Testing

let basicInfo: [UInt8] = [0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77]
let cellVoltages: [UInt8] = [0xDD, 0xA5, 0x04, 0x00, 0xFF, 0xFC, 0x77]
/// For exchanges a test expects to succeed: generous, as CI shares two cores among all suites.
let ample = ReadTiming(deadline: .seconds(10), gap: .seconds(1))

/// A JBD reply is complete at 7 + its length byte.
@Sendable func isWholeFrame(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 4 && bytes.count >= 7 + Int(bytes[3])
}

/// Checks a reply frame's layout and checksum; returns its data bytes.
func frameData(_ frame: [UInt8], register: UInt8) -> [UInt8]? {
    guard frame.count >= 7, frame[0] == 0xDD, frame[1] == register, frame[2] == 0x00,
          frame.count == 7 + Int(frame[3]), frame.last == 0x77 else { return nil }
    let sum = frame[2..<(frame.count - 3)].reduce(0) { $0 + Int($1) }
    let checksum = Int(frame[frame.count - 3]) << 8 | Int(frame[frame.count - 2])
    return (0x10000 - sum) & 0xFFFF == checksum ? Array(frame[4..<(frame.count - 3)]) : nil
}

@Suite struct SerialPortTests {
    /// Opens `path`, retrying while it is busy for at most 10 s. A child that another test of this
    /// process forks shares every descriptor until its exec closes the close-on-exec ones, and the
    /// advisory lock lives as long as any copy: a closed line can look held for a moment.
    static func openOnceFree(_ path: String) async throws -> SerialPort {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let opened = Result { () throws(SerialPortError) in try SerialPort(path: path) }
            if case .failure(.busy) = opened, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            return try opened.get()
        }
    }

    @Test func exchangesARequestForAWholeReply() async throws {
        let fake = try await FakeSerialLine.start()
        let port = try SerialPort(path: fake.link)
        let basic = try await port.exchange(basicInfo, timing: ample, isComplete: isWholeFrame)
        #expect(basic.end == .complete)
        #expect(frameData(basic.bytes, register: 0x03) != nil)
        try await fake.command(["cmd": "set_bms", "bms": ["cells_mv": [3400, 3411, 3422]]])
        let cells = try await port.exchange(cellVoltages, timing: ample, isComplete: isWholeFrame)
        #expect(frameData(cells.bytes, register: 0x04) == [0x0D, 0x48, 0x0D, 0x53, 0x0D, 0x5E])
        await port.close()
        await fake.close()
    }

    @Test func aSecondOpenerIsRefusedUntilTheFirstCloses() async throws {
        let fake = try await FakeSerialLine.start()
        let first = try SerialPort(path: fake.link, baud: BaudRate(115200))
        #expect(throws: SerialPortError.busy(path: fake.link)) { try SerialPort(path: fake.link) }
        #expect(SerialPortError.busy(path: fake.link).description.contains("in use by another process"))
        await first.close()
        let second = try await Self.openOnceFree(fake.link)
        await second.close()
        await #expect(throws: SerialPortError.closed(path: fake.link)) {
            try await second.exchange(basicInfo, timing: ample, isComplete: isWholeFrame)
        }
        await fake.close()
    }

    @Test func splitRepliesWithShortGapsAreAssembled() async throws {
        let fake = try await FakeSerialLine.start()
        try await fake.setFaults(["split": ["pieces": 3, "gap_ms": 120]])
        let port = try SerialPort(path: fake.link)
        let reply = try await port.exchange(basicInfo, timing: ample, isComplete: isWholeFrame)
        #expect(reply.end == .complete)
        #expect(frameData(reply.bytes, register: 0x03) != nil)
        await port.close()
        await fake.close()
    }

    @Test func aGapLongerThanTheGapTimeoutEndsTheRead() async throws {
        let fake = try await FakeSerialLine.start()
        try await fake.setFaults(["split": ["pieces": 2, "gap_ms": 3000]])
        let port = try SerialPort(path: fake.link)
        let timing = ReadTiming(deadline: .seconds(10), gap: .milliseconds(200))
        let started = ContinuousClock.now
        let reply = try await port.exchange(basicInfo, timing: timing, isComplete: isWholeFrame)
        #expect(reply.end == .gap)
        #expect(!reply.bytes.isEmpty && !isWholeFrame(reply.bytes))
        #expect(started.duration(to: .now) < .seconds(3))
        await port.close()
        await fake.close()
    }

    @Test func silenceIsATimeout() async throws {
        let fake = try await FakeSerialLine.start()
        try await fake.setFaults(["silent": true])
        let port = try SerialPort(path: fake.link)
        let timing = ReadTiming(deadline: .milliseconds(300), gap: .milliseconds(100))
        await #expect(throws: SerialPortError.timeout(path: fake.link, after: .milliseconds(300))) {
            try await port.exchange(basicInfo, timing: timing, isComplete: isWholeFrame)
        }
        await port.close()
        await fake.close()
    }

    @Test func unplugIsGoneThenNotFoundAndReplugOpensAgain() async throws {
        let fake = try await FakeSerialLine.start()
        let port = try SerialPort(path: fake.link)
        try await fake.command(["cmd": "unplug"])
        await #expect(throws: SerialPortError.gone(path: fake.link)) {
            try await port.exchange(basicInfo, timing: ample, isComplete: isWholeFrame)
        }
        await port.close()
        #expect(throws: SerialPortError.notFound(path: fake.link)) { try SerialPort(path: fake.link) }
        try await fake.command(["cmd": "replug"])
        let again = try SerialPort(path: fake.link)
        let reply = try await again.exchange(basicInfo, timing: ample, isComplete: isWholeFrame)
        #expect(frameData(reply.bytes, register: 0x03) != nil)
        await again.close()
        await fake.close()
    }

    @Test func staleInputIsFlushedBeforeARequest() async throws {
        let fake = try await FakeSerialLine.start()
        let port = try SerialPort(path: fake.link)
        // An unsolicited frame lands in the input queue before the exchange starts.
        try await fake.command(["cmd": "inject", "hex": "dd04000200fffe77"])
        try await fake.command(["cmd": "get_state"])  // the fake has written it by now
        let reply = try await port.exchange(basicInfo, timing: ample, isComplete: isWholeFrame)
        #expect(frameData(reply.bytes, register: 0x03) != nil)
        await port.close()
        await fake.close()
    }

    @Test func aFileThatIsNotATerminalIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-tty-\(UUID())").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SerialPortError.notATerminal(path: path)) { try SerialPort(path: path) }
    }
}
