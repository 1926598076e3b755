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
        self.basicInfo = basicInfo
        self.cells = cells
        self.model = model
        self.protectionCounters = protectionCounters
        self.timestamp = timestamp
    }
}
