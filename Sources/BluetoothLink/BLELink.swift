import Basics
import BatterySession
import BlueZ
import JBD
import Synchronization

/// A `BMSLink` over Bluetooth LE through BlueZ: one per battery, all sharing one `BluetoothStack`
/// (one D-Bus connection, one object cache).
///
/// ```swift
/// let stack = BluetoothStack()                     // once per process
/// let link = BLELink(stack: stack, address: "A4:C1:38:12:34:56", adapter: "hci0")
/// ```
///
/// `connect` discovers the device when BlueZ does not list it, connects (two-phase, with retries),
/// finds the UART characteristics by UUID (ff01/ff02, or fff1/fff2 on some boards), subscribes,
/// and from then on hands every notification to `receive`; a link loss is reported to `linkLost`
/// once per connection. `disconnect` removes every listener and notify session it created.
public final class BLELink: PostingLink {
    /// The service/notify/write UUID triples JBD modules use.
    static let uartVariants: [(service: BluetoothUUID, notify: BluetoothUUID, write: BluetoothUUID)] = [
        (BluetoothUUID("ff00"), BluetoothUUID("ff01"), BluetoothUUID("ff02")),
        (BluetoothUUID("fff0"), BluetoothUUID("fff1"), BluetoothUUID("fff2")),
    ]
    /// Discovery looks for devices advertising either UART service.
    public static let discoveryFilter = DiscoveryFilter(transport: "le", uuids: uartVariants.map(\.service))

    private struct Connection {
        let id: UInt64
        let device: Device
        let notify: Characteristic
        let write: Characteristic
        let subscriptions: [Subscription]
        /// Claimed once per connection: by the first link-loss report or by our own disconnect.
        let lost: OnceFlag
    }

    private struct State {
        var connection: Connection?
        var nextID: UInt64 = 0
        var device: Device?
        /// BlueZ shows RSSI only while discovering; the last value seen is kept.
        var lastRSSI: Int?
    }

    public let address: String
    public let adapterName: String
    private let stack: BluetoothStack
    private let state = Mutex(State())
    private let writeTimeout: Duration
    /// Told of every connect's outcome and of arriving bytes, to spot a wedged adapter.
    private let health: AdapterHealth?

    /// A link to the battery at `address` (any case) on adapter `adapter`, through `stack`.
    public init(
        stack: BluetoothStack, address: String, adapter: String = "hci0", writeTimeout: Duration = .seconds(2),
        health: AdapterHealth? = nil
    ) {
        self.stack = stack
        self.health = health
        self.address = address.uppercased()
        adapterName = adapter
        self.writeTimeout = writeTimeout
    }

    public func connect(
        timeout: Duration, receive: @escaping @Sendable ([UInt8]) -> Void,
        linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError) {
        await disconnect()
        let deadline = ContinuousClock.now + timeout
        guard let address = BluetoothAddress(self.address) else {
            throw .deviceNotFound("\(self.address) is not a Bluetooth address")
        }
        let device = try await findDevice(address, deadline: deadline, timeout: timeout)
        try await connectInTurn(device, deadline: deadline, timeout: timeout)
        guard let (notify, write) = Self.uart(of: device) else {
            await device.disconnect()
            throw .connectRefused("\(address) has no JBD UART service (ff00 or fff0)")
        }
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let lost = OnceFlag()
        do throws(BlueZError) {
            let (health, adapterName) = (self.health, self.adapterName)
            let values = try notify.onValue { [weak self] chunk in
                if self?.isCurrent(id) == true {
                    health?.traffic(adapter: adapterName)
                    receive(chunk)
                }
            }
            let loss = try device.onLinkLoss { reason in
                guard lost.claim() else { return }
                health?.nudge()  // the adapter may be gone with it
                linkLost(reason)
            }
            state.withLock {
                $0.connection = Connection(
                    id: id, device: device, notify: notify, write: write, subscriptions: [values, loss], lost: lost)
            }
            try await notify.startNotify(timeout: min(remaining(deadline), .seconds(5)))
        } catch .authentication(let reason) {
            await disconnect()
            throw .authentication(Self.securityRejection(reason))
        } catch {
            await disconnect()
            throw .connectRefused("subscribing to notifications of \(address) failed: \(error)")
        }
    }

    /// Connects once it is this adapter's turn: one `Connect` at a time per adapter, first come
    /// first served. The wait does not count against the connect timeout (each holder's own
    /// timeout bounds it); it is counted in the adapter's connect-wait statistics.
    private func connectInTurn(_ device: Device, deadline: ContinuousClock.Instant, timeout: Duration) async throws(LinkError) {
        let gate = stack.connectGate(for: adapterName)
        let waited: Duration
        do {
            waited = try await gate.enter()
        } catch {
            throw .timeout("connect to \(address) cancelled while waiting for adapter \(adapterName)")
        }
        defer { gate.leave() }
        do throws(BlueZError) {
            try await device.connect(until: deadline + waited, budget: timeout)
            health?.connectSucceeded(adapter: adapterName)
        } catch {
            switch error {
            // Not the controller's doing (switched off, gone, bluetoothd away, our own shutdown):
            // no part of a streak, but the monitor should look at the adapter now.
            case .notReady, .adapterMissing, .serviceUnknown, .busUnavailable, .cancelled: health?.nudge()
            default: health?.connectFailed(adapter: adapterName, address: address)
            }
            throw failure(error)
        }
    }

    /// The device from BlueZ's tree, discovered if needed.
    private func findDevice(
        _ address: BluetoothAddress, deadline: ContinuousClock.Instant, timeout: Duration
    ) async throws(LinkError) -> Device {
        do throws(BlueZError) {
            let adapter = try await stack.adapter(named: adapterName)
            try adapter.requirePowered()
            let device = try await adapter.findDevice(address, filter: Self.discoveryFilter, timeout: remaining(deadline))
            state.withLock {
                $0.device = device
                $0.lastRSSI = device.rssi ?? $0.lastRSSI
            }
            return device
        } catch .notFound {
            // A wedged controller often stops reporting advertisements too: a battery that
            // cannot even be found counts towards the adapter's streak like a failed connect.
            health?.connectFailed(adapter: adapterName, address: self.address)
            throw .deviceNotFound("device \(address) not found within \(DurationText.format(timeout))")
        } catch {
            health?.nudge()  // the adapter may be gone or off: the monitor looks now
            throw failure(error)
        }
    }

    public func send(_ request: ReadRequest) async throws(LinkError) {
        try await write(request.bytes)
    }

    public func send(_ request: AuthRequest) async throws(LinkError) {
        try await write(request.bytes)
    }

    /// BlueZ's `Paired`/`Bonded` for the device, once it has been found.
    public func pairingState() async -> Bool? {
        state.withLock { $0.device }?.info?.isPaired
    }

    /// Writes one request's bytes; only the two `send`s above call it.
    private func write(_ bytes: [UInt8]) async throws(LinkError) {
        guard let connection = state.withLock({ $0.connection }) else {
            throw .linkLost("\(address) is not connected")
        }
        do throws(BlueZError) {
            try await connection.write.write(bytes, timeout: writeTimeout)
        } catch .authentication(let reason) {
            throw .authentication(Self.securityRejection(reason))
        } catch {
            throw .linkLost("writing to \(address) failed: \(error)")
        }
    }

    public func post(_ request: ReadRequest, failed: @escaping @Sendable (LinkError) -> Void) throws(LinkError) {
        guard let connection = state.withLock({ $0.connection }) else {
            throw .linkLost("\(address) is not connected")
        }
        let address = self.address
        connection.write.post(request.bytes, timeout: writeTimeout) { error in
            switch error {
            case nil: break
            case .authentication(let reason)?: failed(.authentication(Self.securityRejection(reason)))
            case let error?: failed(.linkLost("writing to \(address) failed: \(error)"))
            }
        }
    }

    public func schedule(
        at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void
    ) -> @Sendable () -> Void {
        guard let connection = state.withLock({ $0.connection }) else {
            // No bus thread to run it on: a plain timer task (the request cannot be sent anyway).
            let timer = Task {
                do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
                action()
            }
            return { timer.cancel() }
        }
        let timer = connection.notify.schedule(at: deadline, action)
        return { timer.cancel() }
    }

    /// What a person should do when the stack refuses the link for security reasons.
    static func securityRejection(_ reason: String) -> String {
        "the module refused the link for security reasons (\(reason)): the pairing is stale or was lost;"
            + " remove the device (`bluetoothctl remove <address>`) and pair again with"
            + " `bms_exporter pair --address <address> --pin-file <file>`"
    }

    public func disconnect() async {
        guard let connection = state.withLock({ state -> Connection? in
            defer { state.connection = nil }
            return state.connection
        }) else { return }
        // Our own disconnect is not a link loss.
        _ = connection.lost.claim()
        for subscription in connection.subscriptions { subscription.cancel() }
        if connection.device.isReady {
            await connection.notify.stopNotify(timeout: .seconds(1))
        }
        await connection.device.disconnect(timeout: .seconds(3))
    }

    /// The current RSSI while BlueZ reports one, else the last one seen (at discovery).
    public func signalStrength() async -> Int? {
        state.withLock { state in
            if let current = state.device?.rssi { state.lastRSSI = current }
            return state.lastRSSI
        }
    }

    private func isCurrent(_ id: UInt64) -> Bool {
        state.withLock { $0.connection?.id == id }
    }

    private func remaining(_ deadline: ContinuousClock.Instant) -> Duration {
        let left = ContinuousClock.now.duration(to: deadline)
        return left > .zero ? left : .milliseconds(1)
    }

    private static func uart(of device: Device) -> (notify: Characteristic, write: Characteristic)? {
        for variant in uartVariants {
            if let notify = device.characteristic(variant.notify, in: variant.service),
               let write = device.characteristic(variant.write, in: variant.service)
            {
                return (notify, write)
            }
        }
        return nil
    }

    /// The one place a BlueZ error becomes a `LinkError`, saying which step failed.
    private func failure(_ error: BlueZError) -> LinkError {
        switch error {
        case .serviceUnknown, .busUnavailable, .adapterMissing:
            .adapterUnavailable(error.description)
        case .notReady:
            .adapterUnavailable("adapter \(adapterName) is powered off")
        case .notFound(let what):
            .deviceNotFound("\(what) not found")
        case .failed(let reason):
            .connectRefused("connect refused by BlueZ: \(reason)")
        case .timeout(let what):
            .timeout("connect to \(address) failed: \(what)")
        case .noReply:
            .timeout("connect to \(address) failed: \(error)")
        case .notConnected:
            .linkLost("\(address) disconnected while connecting")
        case .authentication(let reason):
            .authentication(Self.securityRejection(reason))
        case .inProgress, .cancelled, .other:
            .connectRefused("connect to \(address) failed: \(error)")
        }
    }
}
