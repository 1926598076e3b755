import Basics
import DBus
import Synchronization

/// The entry point: one D-Bus connection to BlueZ and one cache of its objects, shared by every
/// adapter, device and link of the process.
///
/// ```swift
/// let stack = BluetoothStack()                       // system bus; honours DBUS_SYSTEM_BUS_ADDRESS
/// let adapter = try await stack.adapter(named: "hci0")
/// let device = try await adapter.findDevice(BluetoothAddress("A4:C1:38:00:00:01")!,
///                                           filter: DiscoveryFilter(uuids: [BluetoothUUID("ff00")]),
///                                           timeout: .seconds(10))
/// try await device.connect(timeout: .seconds(10))    // two-phase, retries, Disconnect on deadline
/// ```
///
/// The bus connection opens on first use. When it is lost (the bus daemon restarted), pending
/// operations fail with `busUnavailable` and the next operation connects again.
public final class BluetoothStack: Sendable {
    private enum Slot {
        case idle
        case opening(Task<BusSession, any Error>)
        case open(BusSession)
    }

    private let address: String?
    private let slot = Mutex(Slot.idle)
    private let isClosed = Mutex(false)
    private let connectGates = FairGates()

    /// A stack on the bus at `busAddress`, or on the system bus (`DBUS_SYSTEM_BUS_ADDRESS`, read
    /// at each connection) when nil.
    public init(busAddress: String? = nil) {
        address = busAddress
    }

    /// The live session, opening (or re-opening) the bus connection when needed.
    func session() async throws(BlueZError) -> BusSession {
        if isClosed.withLock({ $0 }) { throw BlueZError.busUnavailable("the Bluetooth stack was closed") }
        let address = self.address
        let (task, stale) = slot.withLock { slot -> (Task<BusSession, any Error>, BusSession?) in
            switch slot {
            case .open(let session) where session.isAlive:
                return (Task { session }, nil)
            case .opening(let task):
                return (task, nil)
            case .open(let dead):
                let task = Task<BusSession, any Error> { try await BusSession.open(address: address) }
                slot = .opening(task)
                return (task, dead)
            case .idle:
                let task = Task<BusSession, any Error> { try await BusSession.open(address: address) }
                slot = .opening(task)
                return (task, nil)
            }
        }
        if let stale { await stale.close() }
        do {
            let session = try await task.value
            slot.withLock { slot in
                if case .opening = slot { slot = .open(session) }
            }
            return session
        } catch {
            slot.withLock { slot in
                if case .opening = slot { slot = .idle }
            }
            throw BlueZError(error)
        }
    }

    /// The adapter called `name` (`hci0`), once bluetoothd's tree is loaded.
    ///
    /// Throws `adapterMissing` listing the adapters that exist, `serviceUnknown` when bluetoothd
    /// is not running, `busUnavailable` when the bus cannot be reached.
    public func adapter(named name: String) async throws(BlueZError) -> Adapter {
        let session = try await session()
        let view = try await session.cache.ready()
        let adapters = view.paths(with: BlueZInterface.adapter)
        guard let path = adapters.first(where: { $0.lastComponent == name }) else {
            throw BlueZError.adapterMissing(name: name, available: adapters.map(\.lastComponent))
        }
        return Adapter(name: name, path: path, session: session)
    }

    /// The queue every `Connect` on adapter `name` goes through, one at a time: a controller takes
    /// one outstanding LE Create Connection only, and parallel ones fail ("busy", "in progress")
    /// or abort. Kept for the life of the stack, across bluetoothd restarts and adapter re-plugs.
    public func connectGate(for name: String) -> FairGate {
        connectGates.gate(for: name)
    }

    /// Waits until bluetoothd is on the bus and its tree is loaded (e.g. after a restart), at most `timeout`.
    public func waitUntilAvailable(timeout: Duration) async throws(BlueZError) {
        let deadline = ContinuousClock.now + timeout
        let session = try await session()
        _ = try await session.cache.wait(
            timeout: deadline.remaining, "bluetoothd did not come back within \(DurationText.format(timeout))",
            survivingRestart: true
        ) { _ in () }
    }

    /// Closes the bus connection; the stack cannot be used afterwards.
    public func close() async {
        isClosed.withLock { $0 = true }
        let current = slot.withLock { slot -> Slot in
            defer { slot = .idle }
            return slot
        }
        switch current {
        case .open(let session): await session.close()
        case .opening(let task): if let session = try? await task.value { await session.close() }
        case .idle: break
        }
    }

    /// Listeners and waits still registered on the current session (for leak tests).
    public var pendingObservers: Int {
        slot.withLock { slot in
            guard case .open(let session) = slot else { return 0 }
            return session.cache.listenerCount + session.cache.waiterCount
        }
    }
}

extension ObjectPath {
    /// The last element, e.g. `hci0` for `/org/bluez/hci0`.
    var lastComponent: String {
        String(rawValue.split(separator: "/").last ?? "")
    }
}
