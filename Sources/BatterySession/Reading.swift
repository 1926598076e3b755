import JBD

/// One complete, validated reading of a battery: basic info and cell voltages taken in the
/// same poll, so the two never mix values from different moments.
public struct Reading: Sendable, Equatable {
    public let basicInfo: BasicInfo
    public let cells: CellVoltages
    /// Model string, read once per connection; nil when the board does not answer 0x05.
    public let model: String?
    /// Protection event counters, read once per connection; nil where unsupported.
    public let protectionCounters: ProtectionCounters?
    /// Unix time at which the poll completed.
    public let timestamp: Double

    /// Pairs the two halves of a poll, refusing a pair that cannot describe the same pack.
    public init(
        basicInfo: BasicInfo, cells: CellVoltages, model: String?, protectionCounters: ProtectionCounters?,
        timestamp: Double
    ) throws(PollFailure) {
        guard basicInfo.cellCount == cells.millivolts.count else {
            throw PollFailure(
                .inconsistent,
                "basic info reports \(basicInfo.cellCount) cells but \(cells.millivolts.count) cell voltages arrived"
            )
        }
        if let problem = Self.voltageMismatch(packVolts: basicInfo.voltageVolts, cellMillivolts: cells.millivolts) {
            throw PollFailure(.inconsistent, problem)
        }
        self.basicInfo = basicInfo
        self.cells = cells
        self.model = model
        self.protectionCounters = protectionCounters
        self.timestamp = timestamp
    }

    /// How far the cells' sum may stray from the pack voltage: 5 % of the pack voltage, at least
    /// 0.5 V. The two come from different ADCs (the pack divider and the cell taps, each a few
    /// tens of mV off on JBD boards) and from two requests some 100 ms apart, between which a
    /// load step moves every voltage by I × R. A frame answering another poll or another pack is
    /// off by whole volts (1.111/2.222/3.333/4.444 V against 13.2 V: 2.09 V).
    public static func voltageTolerance(packVolts: Double) -> Double {
        max(0.5, packVolts * 0.05)
    }

    /// Why the cell voltages cannot belong to this pack voltage, or nil when they can. A cell at
    /// 0 mV (a dead or miswired tap, served as reported) makes the sum meaningless: no check then.
    static func voltageMismatch(packVolts: Double, cellMillivolts: [Int]) -> String? {
        guard !cellMillivolts.contains(0) else { return nil }
        let sum = Double(cellMillivolts.reduce(0, +)) / 1000
        let tolerance = voltageTolerance(packVolts: packVolts)
        guard abs(sum - packVolts) > tolerance else { return nil }
        let format = { (volts: Double) in String(Int((volts * 1000).rounded())) + " mV" }
        return "the cells add up to \(format(sum)) but the pack reports \(format(packVolts)) "
            + "(more than \(format(tolerance)) apart): the two replies cannot describe the same pack"
    }
}
