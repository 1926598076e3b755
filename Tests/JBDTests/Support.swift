import Foundation
import JBD
import Testing
import TestSupport

/// One entry of `Fixtures/jbd-frames.json` (copied from the project's shared frame collection).
struct FrameFixture: Decodable, CustomTestStringConvertible {
    let source: String
    let hex: String
    let register: String
    let kind: String
    let checksumValid: Bool

    enum CodingKeys: String, CodingKey {
        case source, hex, register, kind
        case checksumValid = "checksum_valid"
    }

    var bytes: [UInt8] { bytesFromHex(hex) }
    var isRequest: Bool { kind == "request" }
    var testDescription: String { "\(register) \(kind): \(hex)" }

    static let all: [FrameFixture] = {
        guard let url = Bundle.module.url(forResource: "jbd-frames", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let fixtures = try? JSONDecoder().decode([FrameFixture].self, from: data)
        else { fatalError("Fixtures/jbd-frames.json is missing or malformed") }
        return fixtures
    }()

    /// Reply frames whose checksum is valid: the ones the assembler must deliver intact.
    static let validReplies: [FrameFixture] = all.filter { $0.checksumValid && !$0.isRequest }
}

extension FrameAssembler {
    /// Feeds chunks and collects every event, the way a link layer would.
    mutating func events<S: Sequence>(feeding chunks: S) -> [Result<Frame, FrameError>] where S.Element == [UInt8] {
        var events: [Result<Frame, FrameError>] = []
        for chunk in chunks {
            append(chunk)
            while let event = next() { events.append(event) }
        }
        return events
    }
}

extension Result where Success == Frame, Failure == FrameError {
    var frame: Frame? { if case let .success(frame) = self { frame } else { nil } }
}
