import JBD

/// A byte pipe to one BMS: Bluetooth LE through BlueZ, or a simulated battery.
///
/// A link knows how to connect and carry bytes; it knows nothing of frames. It accepts only
/// `ReadRequest`s and, for modules with a password, `AuthRequest`s for sending, which is what
/// keeps the exporter read-only end to end.
public protocol BMSLink: AnyObject, Sendable {
    /// Connects and subscribes to replies; returns once requests can be sent.
    ///
    /// Throws a `LinkError` naming the cause.
    /// Every chunk received from then on goes to `receive`, until `disconnect()` or link loss.
    func connect(
        timeout: Duration,
        receive: @escaping @Sendable ([UInt8]) -> Void,
        linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError)

    /// Sends one request; throws a `LinkError` (usually `linkLost`) when it cannot.
    func send(_ request: ReadRequest) async throws(LinkError)

    /// Sends one step of a module's password exchange. Transports without such modules keep
    /// the default, which refuses.
    func send(_ request: AuthRequest) async throws(LinkError)

    /// Whether the host holds a pairing with the device (BlueZ's `Paired`); nil where the
    /// transport has no such notion or does not know yet.
    func pairingState() async -> Bool?

    /// Closes the link, releasing the BMS for other clients. Safe to call when not connected.
    func disconnect() async

    /// Signal strength in dBm, where the transport reports it.
    func signalStrength() async -> Int?
}

extension BMSLink {
    public func send(_ request: AuthRequest) async throws(LinkError) {
        throw .authentication("this transport cannot carry a module password exchange")
    }

    public func pairingState() async -> Bool? { nil }
}
