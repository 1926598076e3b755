/// A Bluetooth device address, `AA:BB:CC:DD:EE:FF`, compared case-insensitively (kept upper case).
///
/// The one validator for addresses from flags, the config file and BlueZ. Only ASCII hex digits
/// count: `Character.isHexDigit` also accepts fullwidth digits (U+FF10…), which no adapter knows.
public struct BluetoothAddress: Hashable, Sendable, CustomStringConvertible {
    /// Upper case, colon separated.
    public let rawValue: String

    /// Parses six colon-separated hex bytes in either case; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(Self.isASCIIHexDigit) }) else { return nil }
        rawValue = text.uppercased()
    }

    public var description: String { rawValue }

    private static func isASCIIHexDigit(_ character: Character) -> Bool {
        character.isASCII && character.isHexDigit
    }
}
