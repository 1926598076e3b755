/// A read request for one of the four allowed registers.
///
/// The type has no way to hold anything else: its only input is a `Register`, and its
/// bytes are computed from it. The BMS also understands writes (`DD 5A …`) that switch
/// MOSFETs, enter factory mode or send the pack to sleep; this type cannot express them,
/// and it is the only thing the transport layers accept for sending.
public struct ReadRequest: Hashable, Sendable {
    public let register: Register

    public init(_ register: Register) {
        self.register = register
    }

    /// Every request this type can produce, one per register.
    public static let all: [ReadRequest] = Register.allCases.map(ReadRequest.init)

    /// The frame on the wire: `DD A5 reg 00 chk_hi chk_lo 77`.
    public var bytes: [UInt8] {
        let checksum = jbdChecksum([register.rawValue, 0x00])
        return [
            FrameConstants.start, FrameConstants.readCommand, register.rawValue, 0x00,
            UInt8(checksum >> 8), UInt8(checksum & 0xFF), FrameConstants.end,
        ]
    }
}

/// Bytes that frame every JBD message.
public enum FrameConstants {
    public static let start: UInt8 = 0xDD
    public static let end: UInt8 = 0x77
    public static let readCommand: UInt8 = 0xA5
    /// Start, register, status/command, length before the data; checksum (2) and end after it.
    public static let overhead = 7
    /// Bytes that precede the data.
    public static let headerLength = 4
}
