/// A GATT or advertising UUID, always held in its 128-bit lower-case form.
public struct BluetoothUUID: Hashable, Sendable, CustomStringConvertible {
    /// e.g. `0000ff00-0000-1000-8000-00805f9b34fb`.
    public let rawValue: String

    /// Accepts 16-bit (`ff00`), 32-bit (`0000ff00`) and 128-bit forms, any case.
    public init(_ text: String) {
        let lower = text.lowercased()
        switch lower.count {
        case 4: rawValue = "0000" + lower + "-0000-1000-8000-00805f9b34fb"
        case 8: rawValue = lower + "-0000-1000-8000-00805f9b34fb"
        default: rawValue = lower
        }
    }

    /// The 16-bit short form (`ff00`) for Bluetooth base UUIDs, else the full form.
    public var shortForm: String {
        guard rawValue.hasPrefix("0000"), rawValue.hasSuffix("-0000-1000-8000-00805f9b34fb") else { return rawValue }
        return String(rawValue.dropFirst(4).prefix(4))
    }

    public var description: String { shortForm }
}
