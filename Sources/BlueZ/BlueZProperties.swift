import DBus

// The BlueZ interfaces and properties the client reads, each decoded from D-Bus values in one
// place (BlueZ's doc/org.bluez.*.rst). Property names appear nowhere else in the client.
//
// Every type decodes the same way from a full interface map (`GetManagedObjects`,
// `InterfacesAdded`) and from a partial one (`PropertiesChanged`'s `changed`): a field is nil
// when the map does not carry it, and also when it carries it with another type than BlueZ
// documents, which reads as "unknown", just as a raw lookup with `value(as:)` did before.

/// Interfaces and their properties of one object, as `GetManagedObjects` lists them.
typealias InterfaceMap = [String: [String: DBusValue]]

enum BlueZInterface {
    static let adapter = "org.bluez.Adapter1"
    static let device = "org.bluez.Device1"
    static let service = "org.bluez.GattService1"
    static let characteristic = "org.bluez.GattCharacteristic1"
    static let objectManager = "org.freedesktop.DBus.ObjectManager"
    static let properties = "org.freedesktop.DBus.Properties"
}

/// One interface's properties, decoded one name at a time by `decode`, which ignores names it
/// does not know and reads a value of another type (or nil, for an invalidated name) as unknown.
protocol InterfaceProperties: Sendable, Hashable {
    init()
    mutating func decode(_ name: String, _ value: DBusValue?)
}

extension InterfaceProperties {
    /// From a full interface map or a partial one alike.
    init(_ properties: [String: DBusValue]) {
        self.init()
        update(properties)
    }

    /// Applies a change: `changed` replaces what it names, `invalidated` forgets what it names.
    mutating func update(_ changed: [String: DBusValue], invalidated: [String] = []) {
        for (name, value) in changed { decode(name, value) }
        for name in invalidated { decode(name, nil) }
    }
}

/// `org.bluez.Adapter1`.
struct AdapterProperties: InterfaceProperties {
    /// Also written (`Adapter.powerCycle`).
    static let poweredName = "Powered"

    var powered: Bool?

    mutating func decode(_ name: String, _ value: DBusValue?) {
        switch name {
        case Self.poweredName: powered = value?.value(as: Bool.self)
        default: break
        }
    }
}

/// `org.bluez.Device1`.
struct DeviceProperties: InterfaceProperties {
    /// Also written (after pairing).
    static let trustedName = "Trusted"

    /// The adapter's object path, e.g. `/org/bluez/hci0`.
    var adapter: ObjectPath?
    /// As BlueZ spells it (upper case); compared ignoring case by lookups.
    var address: String?
    var alias: String?
    /// The advertised name; BlueZ omits it when the device advertised none.
    var name: String?
    /// dBm; present only while discovery sees the device.
    var rssi: Int16?
    var connected: Bool?
    var servicesResolved: Bool?
    var paired: Bool?
    /// Only on BlueZ versions that tell a bond apart from a pairing.
    var bonded: Bool?
    var trusted: Bool?
    /// Advertised (or, once connected, resolved) service UUIDs.
    var uuids: [String]?

    mutating func decode(_ name: String, _ value: DBusValue?) {
        switch name {
        case "Adapter": adapter = value?.value(as: ObjectPath.self)
        case "Address": address = value?.value(as: String.self)
        case "Alias": alias = value?.value(as: String.self)
        case "Name": self.name = value?.value(as: String.self)
        case "RSSI": rssi = value?.value(as: Int16.self)
        case "UUIDs": uuids = value?.value(as: [String].self)
        case "Connected": connected = value?.value(as: Bool.self)
        case "ServicesResolved": servicesResolved = value?.value(as: Bool.self)
        case "Paired": paired = value?.value(as: Bool.self)
        case "Bonded": bonded = value?.value(as: Bool.self)
        case Self.trustedName: trusted = value?.value(as: Bool.self)
        default: break
        }
    }
}

/// `org.bluez.GattService1`.
struct GattServiceProperties: InterfaceProperties {
    var uuid: String?
    /// The device's object path.
    var device: ObjectPath?

    mutating func decode(_ name: String, _ value: DBusValue?) {
        switch name {
        case "UUID": uuid = value?.value(as: String.self)
        case "Device": device = value?.value(as: ObjectPath.self)
        default: break
        }
    }
}

/// `org.bluez.GattCharacteristic1`.
struct GattCharacteristicProperties: InterfaceProperties {
    /// Also skipped by name (`update(withoutValue:)`).
    static let valueName = "Value"

    var uuid: String?
    /// E.g. `["read", "notify", "write-without-response"]`.
    var flags: [String]?
    /// The service's object path.
    var service: ObjectPath?
    /// A notified (or read) value. The cache never keeps it: notifications are edges, not state.
    var value: [UInt8]?

    mutating func decode(_ name: String, _ value: DBusValue?) {
        // Value first: it is what almost every change of a characteristic carries (a notification).
        switch name {
        case Self.valueName: self.value = value?.value(as: [UInt8].self)
        case "UUID": uuid = value?.value(as: String.self)
        case "Service": service = value?.value(as: ObjectPath.self)
        case "Flags": flags = value?.value(as: [String].self)
        default: break
        }
    }
}

extension GattCharacteristicProperties {
    /// As the cache keeps it: `Value` skipped without being decoded, so the cache's share of
    /// each notification costs no copy of its bytes.
    init(withoutValue properties: [String: DBusValue]) {
        self.init()
        update(withoutValue: properties)
    }

    mutating func update(withoutValue changed: [String: DBusValue], invalidated: [String] = []) {
        for (name, value) in changed where name != Self.valueName { decode(name, value) }
        for name in invalidated { decode(name, nil) }
    }
}

/// One object of BlueZ's tree as the cache keeps it: the interfaces the client reads, decoded,
/// and the names of the others (so "has interface X" stays true for every interface).
struct BlueZObject: Sendable, Hashable {
    var adapter: AdapterProperties?
    var device: DeviceProperties?
    var service: GattServiceProperties?
    var characteristic: GattCharacteristicProperties?
    /// Interfaces present whose properties the client never reads.
    var otherInterfaces: Set<String> = []

    init(_ interfaces: InterfaceMap = [:]) {
        add(interfaces)
    }

    var isEmpty: Bool {
        adapter == nil && device == nil && service == nil && characteristic == nil && otherInterfaces.isEmpty
    }

    func has(_ interface: String) -> Bool {
        switch interface {
        case BlueZInterface.adapter: adapter != nil
        case BlueZInterface.device: device != nil
        case BlueZInterface.service: service != nil
        case BlueZInterface.characteristic: characteristic != nil
        default: otherInterfaces.contains(interface)
        }
    }

    /// `InterfacesAdded`: each interface named replaces what was known of it.
    mutating func add(_ interfaces: InterfaceMap) {
        for (interface, properties) in interfaces {
            switch interface {
            case BlueZInterface.adapter: adapter = AdapterProperties(properties)
            case BlueZInterface.device: device = DeviceProperties(properties)
            case BlueZInterface.service: service = GattServiceProperties(properties)
            case BlueZInterface.characteristic:
                characteristic = GattCharacteristicProperties(withoutValue: properties)
            default: otherInterfaces.insert(interface)
            }
        }
    }

    /// `InterfacesRemoved`.
    mutating func remove(_ interfaces: [String]) {
        for interface in interfaces {
            switch interface {
            case BlueZInterface.adapter: adapter = nil
            case BlueZInterface.device: device = nil
            case BlueZInterface.service: service = nil
            case BlueZInterface.characteristic: characteristic = nil
            default: otherInterfaces.remove(interface)
            }
        }
    }

    /// `PropertiesChanged` of `interface`, applied only when the object has it (a change can
    /// race the interface's removal). Returns whether it was applied.
    @discardableResult
    mutating func update(_ interface: String, changed: [String: DBusValue], invalidated: [String]) -> Bool {
        switch interface {
        case BlueZInterface.adapter: adapter?.update(changed, invalidated: invalidated)
        case BlueZInterface.device: device?.update(changed, invalidated: invalidated)
        case BlueZInterface.service: service?.update(changed, invalidated: invalidated)
        case BlueZInterface.characteristic:
            characteristic?.update(withoutValue: changed, invalidated: invalidated)
        default: return otherInterfaces.contains(interface)
        }
        return has(interface)
    }
}
