/// Everything `/metrics` and the landing page show about one battery, at one moment.
public struct BatteryStatus: Sendable, Equatable {
    /// The configured name: the `battery` label.
    public let name: String
    /// The device path for a battery on a serial line.
    public let address: String
    /// The configured `bank` (packs wired in parallel), "" when none: a label of `bms_info`.
    public let bank: String
    /// How the BMS is reached: a label of `bms_info`.
    public let transport: Transport
    /// The Bluetooth adapter it is reached through; nil for other transports.
    public let adapter: String?
    public var connected = false
    /// Signal strength where the transport reports it.
    public var rssi: Int?
    /// Whether the host holds a pairing with the module, where the transport reports it.
    public var paired: Bool?
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

    public init(
        name: String, address: String, maxAgeSeconds: Double, bank: String = "", transport: Transport = .bluetooth,
        adapter: String? = nil
    ) {
        self.name = name
        self.adapter = adapter
        self.address = address
        self.maxAgeSeconds = maxAgeSeconds
        self.bank = bank
        self.transport = transport
        energy = EnergyIntegrator(maximumGap: .milliseconds(Int64((maxAgeSeconds * 1000).rounded())))
    }

    /// `Uptime` when `reading` was stored; set through `store(_:uptime:)`.
    public private(set) var readingUptime: Double?

    /// Records a new reading with the monotonic time it arrived at.
    public mutating func store(_ reading: Reading, uptime: Double) {
        self.reading = reading
        readingUptime = uptime
    }

    /// The reading if it is fresh, else nil. Its age is measured on the monotonic clock
    /// (`uptime`, from `Uptime.now()`) when both times are known, so a wall-clock step neither
    /// expires nor resurrects it; `now` (Unix time) only serves readings stored without one.
    public func freshReading(at now: Double, uptime: Double? = nil) -> Reading? {
        guard let reading, age(at: now, uptime: uptime) <= maxAgeSeconds else { return nil }
        return reading
    }

    /// Seconds since the reading arrived; infinity without one.
    public func age(at now: Double, uptime: Double? = nil) -> Double {
        guard let reading else { return .infinity }
        if let uptime, let readingUptime { return uptime - readingUptime }
        return now - reading.timestamp
    }

    /// `bms_up`: the latest poll succeeded and its reading is still fresh.
    public func isUp(at now: Double, uptime: Double? = nil) -> Bool {
        lastPollSucceeded && freshReading(at: now, uptime: uptime) != nil
    }
}
