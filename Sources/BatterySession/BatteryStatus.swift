/// Everything `/metrics` and the landing page show about one battery, at one moment.
public struct BatteryStatus: Sendable, Equatable {
    /// The configured name: the `battery` label.
    public let name: String
    public let address: String
    /// The configured `bank` (packs wired in parallel), "" when none: a label of `bms_info`.
    public let bank: String
    /// How the BMS is reached: a label of `bms_info`.
    public let transport: Transport
    public var connected = false
    /// Signal strength where the transport reports it.
    public var rssi: Int?
    /// The latest good reading, however old; the renderer decides whether it is fresh enough.
    public var reading: Reading?
    /// Whether the latest poll succeeded.
    public var lastPollSucceeded = false
    public var lastPollDurationSeconds: Double?
    public var failures: [FailureReason: Int] = [:]
    /// Readings older than this are not served.
    public let maxAgeSeconds: Double
    /// Energy and charge since the exporter started; a gap longer than the maximum age is not integrated.
    public var energy: EnergyIntegrator

    public init(name: String, address: String, maxAgeSeconds: Double, bank: String = "", transport: Transport = .bluetooth) {
        self.name = name
        self.address = address
        self.maxAgeSeconds = maxAgeSeconds
        self.bank = bank
        self.transport = transport
        energy = EnergyIntegrator(maximumGap: .milliseconds(Int64((maxAgeSeconds * 1000).rounded())))
    }

    /// The reading if it is fresh at `now`, else nil.
    public func freshReading(at now: Double) -> Reading? {
        guard let reading, now - reading.timestamp <= maxAgeSeconds else { return nil }
        return reading
    }

    /// `bms_up`: the latest poll succeeded and its reading is still fresh.
    public func isUp(at now: Double) -> Bool {
        lastPollSucceeded && freshReading(at: now) != nil
    }
}
