/// The password exchange some JBD Bluetooth modules ("FF AA" modules) demand before they pass
/// `DD A5 …` reads to the BMS: app key, challenge, password. Frames: `FF AA cmd len data… cs`,
/// `cs = (cmd + len + Σdata) & 0xFF`.
///
/// This type is the one source of FF AA bytes. It has no case for the module's other commands
/// (0x16 sets a new password, 0x1D unlocks settings, 0x07 renames the module): reading does not
/// need them, and a type that cannot express them cannot send them.
public enum AuthRequest: Hashable, Sendable {
    /// 0x15 with the fixed app key "000000" every vendor app sends.
    case appKey
    /// 0x17: asks for the random byte the password is mixed with.
    case challenge
    /// 0x18: the password, mixed with the module's MAC address and the challenge byte.
    case password(ModulePassword, macAddress: MACBytes, challenge: UInt8)

    /// The frame on the wire.
    public var bytes: [UInt8] {
        switch self {
        case .appKey:
            AuthFrame.bytes(command: AuthCommand.appKey, data: Array("000000".utf8))
        case .challenge:
            AuthFrame.bytes(command: AuthCommand.challenge, data: [])
        case let .password(password, mac, challenge):
            // Each byte: (MAC[i] XOR pw[i]) + RR, wrapping; MAC in display order.
            AuthFrame.bytes(
                command: AuthCommand.password,
                data: zip(mac.bytes, password.characters).map { ($0 ^ $1) &+ challenge })
        }
    }
}

/// The command bytes of the exchange.
public enum AuthCommand {
    public static let appKey: UInt8 = 0x15
    public static let challenge: UInt8 = 0x17
    public static let password: UInt8 = 0x18
}

/// Six address bytes in display order (`10:A5:…` → `[0x10, 0xA5, …]`).
public struct MACBytes: Hashable, Sendable {
    public let bytes: [UInt8]

    /// Nil unless exactly six bytes.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    /// Parses `AA:BB:CC:DD:EE:FF` (either case); nil for anything else.
    public init?(text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes)
    }
}

/// A module password: six printable ASCII characters, as the vendor app accepts them.
///
/// Its description never shows the characters, so it cannot reach a log by accident.
public struct ModulePassword: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let characters: [UInt8]

    /// Nil unless `text` is exactly six printable ASCII characters.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 6, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        characters = bytes
    }

    public var description: String { "(password hidden)" }
    public var debugDescription: String { description }
}

/// The module's answers, one frame per request.
public enum AuthReply: Hashable, Sendable {
    /// 0x15: the app key was accepted and a password is required.
    case passwordRequired
    /// 0x15: no password is set; the module reads without one.
    case noPasswordSet
    /// 0x15: the app key was refused.
    case appKeyRejected
    /// 0x17: the challenge byte.
    case challenge(UInt8)
    /// 0x18: the password was right.
    case passwordAccepted
    /// 0x18: the password was wrong.
    case passwordRejected
    /// A well-formed frame with a command or value this client does not know.
    case other(command: UInt8, data: [UInt8])

    /// The request command this reply answers.
    public var command: UInt8 {
        switch self {
        case .passwordRequired, .noPasswordSet, .appKeyRejected: AuthCommand.appKey
        case .challenge: AuthCommand.challenge
        case .passwordAccepted, .passwordRejected: AuthCommand.password
        case let .other(command, _): command
        }
    }

    init(command: UInt8, data: [UInt8]) {
        switch (command, data) {
        case (AuthCommand.appKey, [0x00]): self = .passwordRequired
        case (AuthCommand.appKey, [0x02]): self = .noPasswordSet
        case (AuthCommand.appKey, [0x01]): self = .appKeyRejected
        case (AuthCommand.challenge, let data) where data.count == 1: self = .challenge(data[0])
        case (AuthCommand.password, [0x00]): self = .passwordAccepted
        case (AuthCommand.password, [0x01]): self = .passwordRejected
        default: self = .other(command: command, data: data)
        }
    }
}

/// Framing shared by requests and replies.
enum AuthFrame {
    static let start: [UInt8] = [0xFF, 0xAA]

    static func bytes(command: UInt8, data: [UInt8]) -> [UInt8] {
        let length = UInt8(truncatingIfNeeded: data.count)
        let checksum = data.reduce(command &+ length) { $0 &+ $1 }
        return start + [command, length] + data + [checksum]
    }
}

/// Finds FF AA replies in a stream of notification chunks; other bytes are skipped.
public struct AuthReplyScanner: Sendable {
    private var buffer: [UInt8] = []
    /// A reply never exceeds a few bytes; more is garbage, dropped so the buffer stays bounded.
    static let maximumBuffered = 64

    public init() {}

    public mutating func append<C: Collection>(_ chunk: C) where C.Element == UInt8 {
        buffer.append(contentsOf: chunk)
        if buffer.count > Self.maximumBuffered { buffer.removeFirst(buffer.count - Self.maximumBuffered) }
    }

    /// The next complete, checksum-valid reply, or nil when more bytes are needed.
    public mutating func next() -> AuthReply? {
        nextFrame()?.reply
    }

    /// The next complete, checksum-valid reply with its bytes as received.
    public mutating func nextFrame() -> (bytes: [UInt8], reply: AuthReply)? {
        while buffer.count >= 2 {
            guard buffer[0] == AuthFrame.start[0], buffer[1] == AuthFrame.start[1] else {
                buffer.removeFirst()
                continue
            }
            guard buffer.count >= 5 else { return nil }
            let command = buffer[2]
            let length = Int(buffer[3])
            guard buffer.count >= 5 + length else { return nil }
            let data = Array(buffer[4..<(4 + length)])
            let expected = AuthFrame.bytes(command: command, data: data)
            guard expected.last == buffer[4 + length] else {
                // Not a frame after all: look for the next start.
                buffer.removeFirst()
                continue
            }
            let bytes = Array(buffer[0..<(5 + length)])
            buffer.removeFirst(5 + length)
            return (bytes, AuthReply(command: command, data: data))
        }
        return nil
    }
}
