/// Register 0x04: one voltage per cell, cell 1 first.
public struct CellVoltages: Hashable, Sendable {
    /// Millivolts as reported; 0 mV happens on a miswired or dead cell tap and is kept.
    public let millivolts: [Int]

    public var volts: [Double] { millivolts.map { Double($0) / 1000 } }

    init(payload: [UInt8]) throws(DecodeError) {
        let register = Register.cellVoltages.rawValue
        guard !payload.isEmpty, payload.count % 2 == 0 else {
            throw .badPayloadLength(register: register, length: payload.count, allowed: "an even number of bytes, at least 2")
        }
        let cellCount = try Plausibility.cellCount.check(payload.count / 2)
        let reader = ByteReader(bytes: payload)
        var millivolts: [Int] = []
        for cell in 0..<cellCount {
            let value = Int(reader.u16(2 * cell))
            try Plausibility.cellVoltage.check(Double(value) / 1000, which: "cell \(cell + 1) voltage")
            millivolts.append(value)
        }
        self.millivolts = millivolts
    }
}

/// Register 0xAA: how often each protection has tripped since the board was made.
public struct ProtectionCounters: Hashable, Sendable {
    /// Counter per protection, in the order of `ProtectionCounters.order`.
    public let counts: [ProtectionFlag: Int]
    /// Only present in the 24-byte form.
    public let systemRestarts: Int?

    /// The counters' order in the payload.
    public static let order: [ProtectionFlag] = [
        .shortCircuit, .chargeOvercurrent, .dischargeOvercurrent, .cellOvervoltage, .cellUndervoltage,
        .chargeOvertemperature, .chargeUndertemperature, .dischargeOvertemperature,
        .dischargeUndertemperature, .packOvervoltage, .packUndervoltage,
    ]

    init(payload: [UInt8]) throws(DecodeError) {
        guard payload.count == 22 || payload.count == 24 else {
            throw .badPayloadLength(register: Register.protectionCounters.rawValue, length: payload.count, allowed: "22 or 24 bytes")
        }
        let reader = ByteReader(bytes: payload)
        var counts: [ProtectionFlag: Int] = [:]
        for (index, flag) in Self.order.enumerated() {
            counts[flag] = Int(reader.u16(2 * index))
        }
        self.counts = counts
        systemRestarts = payload.count == 24 ? Int(reader.u16(22)) : nil
    }
}

/// Register 0x05: the model string, up to the first NUL or non-printable byte.
enum HardwareVersion {
    static func decode(_ payload: [UInt8]) -> String {
        let printable = payload.prefix { (0x20...0x7E).contains($0) }
        return String(decoding: printable, as: UTF8.self)
    }
}

/// The status byte of a reply.
public struct ReplyStatus: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public var isSuccess: Bool { rawValue == 0 }

    public var description: String {
        switch rawValue {
        case 0x00: "ok"
        case 0x80: "unknown command"
        case 0x81: "operation error"
        case 0x82: "checksum error"
        case 0x83: "password error"
        default: "unknown status \(hexByte(rawValue))"
        }
    }
}

/// A decoded reply frame.
public enum Reply: Hashable, Sendable {
    case basicInfo(BasicInfo)
    case cellVoltages(CellVoltages)
    case hardwareVersion(String)
    case protectionCounters(ProtectionCounters)
    /// The BMS answered, but with a non-zero status: a definite "no", not a timeout.
    case error(register: UInt8, status: ReplyStatus)

    /// The register this reply answers.
    public var register: UInt8 {
        switch self {
        case .basicInfo: Register.basicInfo.rawValue
        case .cellVoltages: Register.cellVoltages.rawValue
        case .hardwareVersion: Register.hardwareVersion.rawValue
        case .protectionCounters: Register.protectionCounters.rawValue
        case let .error(register, _): register
        }
    }

    public init(decoding frame: Frame) throws(DecodeError) {
        let status = ReplyStatus(frame.status)
        guard status.isSuccess else {
            self = .error(register: frame.register, status: status)
            return
        }
        switch Register(rawValue: frame.register) {
        case .basicInfo: self = .basicInfo(try BasicInfo(payload: frame.payload))
        case .cellVoltages: self = .cellVoltages(try CellVoltages(payload: frame.payload))
        case .hardwareVersion: self = .hardwareVersion(HardwareVersion.decode(frame.payload))
        case .protectionCounters: self = .protectionCounters(try ProtectionCounters(payload: frame.payload))
        case nil: throw .unknownRegister(frame.register)
        }
    }
}

/// Why a valid frame's contents could not be decoded.
public enum DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownRegister(UInt8)
    case payloadTooShort(register: UInt8, expected: Int, actual: Int)
    case badPayloadLength(register: UInt8, length: Int, allowed: String)
    /// A value no real pack can have (see `Plausibility`): the reading cannot be trusted.
    case implausible(field: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case let .unknownRegister(register):
            return "unknown register \(hexByte(register))"
        case let .payloadTooShort(register, expected, actual):
            return "register \(hexByte(register)) payload too short: \(actual) of at least \(expected) bytes"
        case let .badPayloadLength(register, length, allowed):
            return "register \(hexByte(register)) payload of \(length) bytes, expected \(allowed)"
        case let .implausible(field, value, allowed):
            return "implausible \(field) \(value): a real pack stays within \(allowed)"
        }
    }
}
