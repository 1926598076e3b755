/// One validated reply frame: start and end bytes checked, checksum verified.
public struct Frame: Hashable, Sendable {
    /// The register this frame answers.
    public let register: UInt8
    /// 0 for success; 0x80… for the BMS's error answers.
    public let status: UInt8
    /// The data bytes between the length byte and the checksum.
    public let payload: [UInt8]

    public init(register: UInt8, status: UInt8, payload: [UInt8]) {
        self.register = register
        self.status = status
        self.payload = payload
    }

    /// The frame as it travels on the wire, checksum recomputed.
    public var bytes: [UInt8] {
        var summed: [UInt8] = [status, UInt8(truncatingIfNeeded: payload.count)]
        summed.append(contentsOf: payload)
        let checksum = jbdChecksum(summed)
        return [FrameConstants.start, register] + summed
            + [UInt8(checksum >> 8), UInt8(checksum & 0xFF), FrameConstants.end]
    }

    /// Parses exactly one complete frame, with nothing before or after it.
    public static func parse(_ bytes: [UInt8]) throws(FrameError) -> Frame {
        guard let first = bytes.first else { throw .truncated(expected: FrameConstants.overhead, actual: 0) }
        guard first == FrameConstants.start else { throw .badStartByte(first) }
        guard bytes.count >= FrameConstants.headerLength else {
            throw .truncated(expected: FrameConstants.overhead, actual: bytes.count)
        }
        let expected = Int(bytes[3]) + FrameConstants.overhead
        guard bytes.count >= expected else { throw .truncated(expected: expected, actual: bytes.count) }
        guard bytes.count == expected else { throw .trailingBytes(count: bytes.count - expected) }
        return try validate(bytes[...])
    }

    /// Checks end byte and checksum of a slice that holds exactly `length + 7` bytes.
    static func validate(_ bytes: ArraySlice<UInt8>) throws(FrameError) -> Frame {
        let base = bytes.startIndex
        let length = Int(bytes[base + 3])
        let dataEnd = base + FrameConstants.headerLength + length
        let endByte = bytes[dataEnd + 2]
        guard endByte == FrameConstants.end else { throw .badEndByte(endByte) }
        let received = UInt16(bytes[dataEnd]) << 8 | UInt16(bytes[dataEnd + 1])
        let computed = jbdChecksum(bytes[(base + 2)..<dataEnd])
        guard received == computed else { throw .badChecksum(expected: computed, received: received) }
        return Frame(
            register: bytes[base + 1],
            status: bytes[base + 2],
            payload: Array(bytes[(base + FrameConstants.headerLength)..<dataEnd])
        )
    }
}

/// Why bytes did not make a frame.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The checksum in the frame does not match its contents.
    case badChecksum(expected: UInt16, received: UInt16)
    /// The byte where `0x77` belongs holds something else.
    case badEndByte(UInt8)
    /// The first byte is not `0xDD`.
    case badStartByte(UInt8)
    /// The length byte announces more data than any reply we ask for can carry.
    case frameTooLong(declaredLength: Int, limit: Int)
    /// Bytes that could not belong to a frame were dropped while looking for `0xDD`.
    case garbageSkipped(byteCount: Int)
    /// Fewer bytes than the length byte announces.
    case truncated(expected: Int, actual: Int)
    /// More bytes than one frame.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case let .badChecksum(expected, received):
            return "bad checksum: frame says \(hex16(received)), contents sum to \(hex16(expected))"
        case let .badEndByte(byte):
            return "bad end byte: expected 0x77, found \(hexByte(byte))"
        case let .badStartByte(byte):
            return "bad start byte: expected 0xdd, found \(hexByte(byte))"
        case let .frameTooLong(length, limit):
            return "frame too long: length byte says \(length) data bytes, at most \(limit) expected"
        case let .garbageSkipped(count):
            return "skipped \(count) byte(s) that were not part of a frame"
        case let .truncated(expected, actual):
            return "truncated frame: \(actual) of \(expected) bytes"
        case let .trailingBytes(count):
            return "\(count) byte(s) after the end of the frame"
        }
    }
}

func hex16(_ value: UInt16) -> String {
    hexByte(UInt8(value >> 8)) + String(hexByte(UInt8(value & 0xFF)).dropFirst(2))
}
