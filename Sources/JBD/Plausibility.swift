/// The one rule for values that pass the checksum but that no real pack can produce: a decoded
/// reply with any such value is rejected as a whole with `DecodeError.implausible`, the same way
/// for every field. Exporting it would be worse than exporting nothing: alerts and dashboards would
/// believe a 65.535 V cell. Mostly these are all-ones or all-zeros words (0xFFFF, 0x8000, raw 0
/// for a temperature), a board's uninitialised memory or a corrupted frame that happens to sum.
///
/// Each bound is one that no lithium pack on a JBD board can cross (LiFePO4, Li-ion, LTO);
/// the reasons are in docs/protocol-plausibility.md. Values the protocol gives a meaning stay
/// valid: a 0 mV cell (a dead or miswired tap) and −30.0 °C (an unplugged probe).
///
/// The one exception is the optional V11 trailer: clones append vendor bytes of their own after
/// the temperatures, so a trailer with a value outside its bounds is taken for vendor data and
/// left out, as a humidity above 100 % already was; the reading itself stays valid.
public enum Plausibility {
    public static let cellVoltage = PlausibleRange("cell voltage", 0...5, unit: "V")
    public static let packVoltage = PlausibleRange("pack voltage", 0...160, unit: "V")
    public static let current = PlausibleRange("current", -1000...1000, unit: "A")
    public static let capacity = PlausibleRange("capacity", 0...5000, unit: "Ah")
    public static let chargeCycles = PlausibleRange("charge cycles", 0...50000, unit: "")
    public static let stateOfCharge = PlausibleRange("state of charge", 0...100, unit: "%")
    public static let cellCount = PlausibleRange("cell count", 1...32, unit: "")
    public static let probeCount = PlausibleRange("temperature probe count", 0...8, unit: "")
    public static let temperature = PlausibleRange("temperature", -90...200, unit: "°C")
    /// V11 trailer only: outside it, the trailer is vendor data (see above).
    public static let humidity = PlausibleRange("humidity", 0...100, unit: "%")
    public static let balanceCurrent = PlausibleRange("balance current", 0...10, unit: "A")
}

/// The values a field of a real pack can take, in the unit the decoder reports.
public struct PlausibleRange: Hashable, Sendable {
    public let field: String
    public let bounds: ClosedRange<Double>
    public let unit: String

    init(_ field: String, _ bounds: ClosedRange<Double>, unit: String) {
        self.field = field
        self.bounds = bounds
        self.unit = unit
    }

    public func contains(_ value: Double) -> Bool { bounds.contains(value) }

    /// `value` when it lies within the bounds; otherwise the error naming the field (or `which`
    /// of several, e.g. "cell 3 voltage"), the value and the bounds.
    @discardableResult
    func check(_ value: Double, which: String? = nil) throws(DecodeError) -> Double {
        guard contains(value) else {
            let allowed = number(bounds.lowerBound) + "…" + number(bounds.upperBound)
            throw .implausible(field: which ?? field, value: withUnit(number(value)), allowed: withUnit(allowed))
        }
        return value
    }

    @discardableResult
    func check(_ value: Int, which: String? = nil) throws(DecodeError) -> Int {
        try check(Double(value), which: which)
        return value
    }

    /// The number as the decoder reports it, without a trailing ".0".
    private func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private func withUnit(_ text: String) -> String { unit.isEmpty ? text : "\(text) \(unit)" }
}
