import Foundation
import JBD
import Testing

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

func bytesFromHex(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8).compactMap { UInt8(String(UnicodeScalar($0)), radix: 16) }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// SplitMix64: a small seeded generator, so every random test is reproducible from its seed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
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
