/// The registers bms_exporter reads. Nothing else is ever requested: see `ReadRequest`.
public enum Register: UInt8, CaseIterable, Sendable {
    /// Pack voltage, current, capacities, flags and temperatures.
    case basicInfo = 0x03
    /// One voltage per cell.
    case cellVoltages = 0x04
    /// The model / hardware string.
    case hardwareVersion = 0x05
    /// Protection event counters (not supported by every board).
    case protectionCounters = 0xAA

    /// The register as it is written in the protocol documents, e.g. "0x03".
    public var hexName: String { hexByte(rawValue) }
}

/// "0x" followed by two lower-case hex digits.
public func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return "0x" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
}
