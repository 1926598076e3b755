import Basics
import DBus

/// A Bluetooth adapter (`org.bluez.Adapter1`), e.g. `hci0`.
public struct Adapter: Sendable {
    /// The adapter's name, e.g. `hci0`.
    public let name: String
    let path: ObjectPath
    let session: BusSession

    /// Whether the adapter is powered on (from the cached `Powered` property).
    public var isPowered: Bool {
        session.cache.view.adapter(path)?.powered ?? false
    }

    /// Throws `notReady` when the adapter is powered off, `notFound` when it disappeared.
    public func requirePowered() throws(BlueZError) {
        guard let adapter = session.cache.view.adapter(path) else { throw BlueZError.notFound("adapter \(name)") }
        guard adapter.powered == true else {
            throw BlueZError.notReady("adapter \(name) is powered off")
        }
    }

    /// Switches the adapter off and on again (`Adapter1.Powered`), the remedy for a controller
    /// that stopped making connections: every link on it drops. Waits for BlueZ to report each
    /// state, at most `timeout` each. Needs the same D-Bus access to org.bluez as everything else
    /// (Debian's policy grants it to the `bluetooth` group); an rfkill block makes it fail.
    public func powerCycle(timeout: Duration) async throws(BlueZError) {
        try await setPowered(false, timeout: timeout)
        try await setPowered(true, timeout: timeout)
    }

    private func setPowered(_ on: Bool, timeout: Duration) async throws(BlueZError) {
        _ = try await session.call(
            path, BlueZInterface.properties, "Set",
            [.string(BlueZInterface.adapter), .string(AdapterProperties.poweredName), .variant(.boolean(on))],
            timeout: timeout)
        let path = self.path
        _ = try await session.cache.wait(timeout: timeout, "adapter \(name) did not report Powered \(on)") { view in
            view.adapter(path)?.powered == on ? () : nil
        }
    }

    /// Every device BlueZ currently lists under this adapter.
    public func devices() -> [DeviceInfo] {
        let view = session.cache.view
        return Self.devicePaths(in: view, adapter: path).compactMap { DeviceInfo(view: view, path: $0) }
    }

    /// The device with `address` if BlueZ has it in its tree now (no discovery).
    public func device(_ address: BluetoothAddress) -> Device? {
        Self.devicePath(in: session.cache.view, adapter: path, address: address).map {
            Device(address: address, adapterName: name, path: $0, session: session)
        }
    }

    /// The device with `address`: from the tree, or else discovered with `filter` (discovery
    /// is stopped again before this returns). Throws `notFound` when it is not seen within `timeout`.
    public func findDevice(
        _ address: BluetoothAddress, filter: DiscoveryFilter, timeout: Duration
    ) async throws(BlueZError) -> Device {
        if let device = device(address) { return device }
        try requirePowered()
        let found: ObjectPath = try await discovering(filter: filter) { () throws(BlueZError) in
            let adapterPath = path
            do throws(BlueZError) {
                return try await session.cache.wait(timeout: timeout, "") { view in
                    Self.devicePath(in: view, adapter: adapterPath, address: address)
                }
            } catch .timeout, .noReply {
                throw BlueZError.notFound("device \(address) within \(DurationText.format(timeout))")
            }
        }
        return Device(address: address, adapterName: name, path: found, session: session)
    }

    /// Discovers for `duration` with `filter` and returns every device that advertised meanwhile
    /// (BlueZ keeps an `RSSI` only for devices reported during the current discovery).
    public func scan(filter: DiscoveryFilter, duration: Duration) async throws(BlueZError) -> [DeviceInfo] {
        try requirePowered()
        let (adapterPath, cache) = (path, session.cache)
        return try await discovering(filter: filter) { () throws(BlueZError) in
            // The scan window itself is what is asked for, so this wait is the point, not a stand-in.
            do { try await Task.sleep(for: duration) } catch { throw BlueZError.cancelled }
            let view = cache.view
            return Self.devicePaths(in: view, adapter: adapterPath)
                .compactMap { DeviceInfo(view: view, path: $0) }
                .filter { $0.rssi != nil }
        }
    }

    /// Runs `body` with discovery on (shared with other users of the stack), then releases it.
    private func discovering<T: Sendable>(
        filter: DiscoveryFilter, _ body: () async throws(BlueZError) -> T
    ) async throws(BlueZError) -> T {
        let epoch = try await session.discovery.acquire(path, filter: filter, session: session)
        let result: Result<T, BlueZError>
        do throws(BlueZError) {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        let (adapterPath, session) = (path, session)
        await uncancellable { await session.discovery.release(adapterPath, epoch: epoch, session: session) }
        return try result.get()
    }

    static func devicePaths(in view: CacheView, adapter: ObjectPath) -> [ObjectPath] {
        view.paths(with: BlueZInterface.device).filter {
            view.device($0)?.adapter == adapter
        }
    }

    static func devicePath(in view: CacheView, adapter: ObjectPath, address: BluetoothAddress) -> ObjectPath? {
        devicePaths(in: view, adapter: adapter).first {
            view.device($0)?.address?.uppercased() == address.rawValue
        }
    }
}

/// What BlueZ knows about a device, at one moment.
public struct DeviceInfo: Sendable, Hashable {
    public let address: BluetoothAddress
    /// The advertised name, if any.
    public let name: String?
    /// `Alias`: the name, or the address with dashes.
    public let alias: String?
    /// dBm as BlueZ reports it, present while discovery sees the device (see `measuredRSSI`).
    public let rssi: Int?
    /// Advertised (or, once connected, resolved) service UUIDs.
    public let uuids: [BluetoothUUID]
    public let isConnected: Bool
    /// BlueZ's `Paired` (or `Bonded`, on versions that have it): the host holds keys for the device.
    public let isPaired: Bool

    /// The RSSI when it is a measurement: HCI reports −127…+20 dBm, and 127 for "not available".
    public var measuredRSSI: Int? { Self.measured(rssi) }

    /// `raw` when it lies in HCI's RSSI range, else nil.
    public static func measured(_ raw: Int?) -> Int? {
        guard let raw, (-127...20).contains(raw) else { return nil }
        return raw
    }

    init?(view: CacheView, path: ObjectPath) {
        guard let device = view.device(path), let text = device.address, let address = BluetoothAddress(text)
        else { return nil }
        self.address = address
        name = device.name
        alias = device.alias
        rssi = device.rssi.map(Int.init)
        uuids = (device.uuids ?? []).map(BluetoothUUID.init)
        isConnected = device.connected ?? false
        isPaired = device.paired == true || device.bonded == true
    }
}
