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

/// `org.bluez.Adapter1`.
struct AdapterProperties: Sendable, Hashable {
    enum Name {
        static let powered = "Powered"
    }

    var powered: Bool?

    init(_ properties: [String: DBusValue] = [:]) {
        update(properties)
    }

    /// Applies a change: `changed` replaces what it names (a wrong type reads as unknown),
    /// `invalidated` forgets what it names.
    mutating func update(_ changed: [String: DBusValue], invalidated: [String] = []) {
        for (name, value) in changed { set(name, value) }
        for name in invalidated { set(name, nil) }
    }

    private mutating func set(_ name: String, _ value: DBusValue?) {
        switch name {
        case Name.powered: powered = value?.value(as: Bool.self)
        default: break
        }
    }
}

/// `org.bluez.Device1`.
struct DeviceProperties: Sendable, Hashable {
    enum Name {
        static let adapter = "Adapter"
        static let address = "Address"
        static let alias = "Alias"
        static let name = "Name"
        static let rssi = "RSSI"
        static let uuids = "UUIDs"
        static let connected = "Connected"
        static let servicesResolved = "ServicesResolved"
        static let paired = "Paired"
        static let bonded = "Bonded"
        static let trusted = "Trusted"
    }

    /// The adapter's object path, e.g. `/org/bluez/hci0`.
    var adapter: ObjectPath?
    /// As BlueZ spells it (upper case); compared ignoring case by lookups.
    var address: String?
    var alias: String?
    /// The advertised name; BlueZ omits it when the device advertised none.
    var name: String?
    /// dBm; present only while discovery sees the device.
    var rssi: Int16?
    var uuids: [String]?
    var connected: Bool?
    var servicesResolved: Bool?
    var paired: Bool?
    /// Only on BlueZ versions that tell a bond apart from a pairing.
    var bonded: Bool?
    var trusted: Bool?

    init(_ properties: [String: DBusValue] = [:]) {
        update(properties)
    }

    /// Applies a change: `changed` replaces what it names (a wrong type reads as unknown),
    /// `invalidated` forgets what it names.
    mutating func update(_ changed: [String: DBusValue], invalidated: [String] = []) {
        for (name, value) in changed { set(name, value) }
        for name in invalidated { set(name, nil) }
    }

    private mutating func set(_ name: String, _ value: DBusValue?) {
        switch name {
        case Name.adapter: adapter = value?.value(as: ObjectPath.self)
        case Name.address: address = value?.value(as: String.self)
        case Name.alias: alias = value?.value(as: String.self)
        case Name.name: self.name = value?.value(as: String.self)
        case Name.rssi: rssi = value?.value(as: Int16.self)
        case Name.uuids: uuids = value?.value(as: [String].self)
        case Name.connected: connected = value?.value(as: Bool.self)
        case Name.servicesResolved: servicesResolved = value?.value(as: Bool.self)
        case Name.paired: paired = value?.value(as: Bool.self)
        case Name.bonded: bonded = value?.value(as: Bool.self)
        case Name.trusted: trusted = value?.value(as: Bool.self)
        default: break
        }
    }
}

/// `org.bluez.GattService1`.
struct GattServiceProperties: Sendable, Hashable {
    enum Name {
        static let uuid = "UUID"
        static let device = "Device"
    }

    var uuid: String?
    /// The device's object path.
    var device: ObjectPath?

    init(_ properties: [String: DBusValue] = [:]) {
        update(properties)
    }

    /// Applies a change: `changed` replaces what it names (a wrong type reads as unknown),
    /// `invalidated` forgets what it names.
    mutating func update(_ changed: [String: DBusValue], invalidated: [String] = []) {
        for (name, value) in changed { set(name, value) }
        for name in invalidated { set(name, nil) }
    }

    private mutating func set(_ name: String, _ value: DBusValue?) {
        switch name {
        case Name.uuid: uuid = value?.value(as: String.self)
        case Name.device: device = value?.value(as: ObjectPath.self)
        default: break
        }
    }
}

/// `org.bluez.GattCharacteristic1`.
struct GattCharacteristicProperties: Sendable, Hashable {
    enum Name {
        static let uuid = "UUID"
        static let service = "Service"
        static let flags = "Flags"
        static let value = "Value"
    }

    var uuid: String?
    /// The service's object path.
    var service: ObjectPath?
    /// E.g. `["read", "notify", "write-without-response"]`.
    var flags: [String]?
    /// A notified (or read) value. The cache never keeps it: notifications are edges, not state.
    var value: [UInt8]?

    init(_ properties: [String: DBusValue] = [:], keepingValue: Bool = true) {
        update(properties, keepingValue: keepingValue)
    }

    /// Applies a change: `changed` replaces what it names (a wrong type reads as unknown),
    /// `invalidated` forgets what it names. Without `keepingValue`, `Value` is not even decoded,
    /// so the cache's share of each notification costs no copy of its bytes.
    mutating func update(_ changed: [String: DBusValue], invalidated: [String] = [], keepingValue: Bool = true) {
        for (name, value) in changed where keepingValue || name != Name.value { set(name, value) }
        for name in invalidated { set(name, nil) }
    }

    private mutating func set(_ name: String, _ value: DBusValue?) {
        // Value first: it is what almost every change of a characteristic carries (a notification).
        switch name {
        case Name.value: self.value = value?.value(as: [UInt8].self)
        case Name.uuid: uuid = value?.value(as: String.self)
        case Name.service: service = value?.value(as: ObjectPath.self)
        case Name.flags: flags = value?.value(as: [String].self)
        default: break
        }
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
                characteristic = GattCharacteristicProperties(properties, keepingValue: false)
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
            characteristic?.update(changed, invalidated: invalidated, keepingValue: false)
        default: return otherInterfaces.contains(interface)
        }
        return has(interface)
    }
}
