/// The bytes of hex text as written in fixtures and captures; anything not a hex digit
/// (spaces, separators) is skipped, and a trailing odd digit is dropped.
public func bytesFromHex(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8).compactMap { UInt8(String(UnicodeScalar($0)), radix: 16) }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}
