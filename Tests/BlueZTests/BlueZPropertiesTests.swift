@testable import BlueZ
import DBus
import Testing

/// The decoders of BlueZ's interfaces: the one place property names and types are read.
@Suite struct BlueZPropertiesTests {
    static let devicePath: ObjectPath = "/org/bluez/hci0/dev_A4_C1_38_00_00_01"

    /// A Device1 as `GetManagedObjects` lists it: every value in a variant, as on the wire.
    static let fullDevice: [String: DBusValue] = [
        "Adapter": .variant(.objectPath("/org/bluez/hci0")),
        "Address": .variant("A4:C1:38:00:00:01"),
        "AddressType": .variant("public"),
        "Alias": .variant("xiaoxiang BMS"),
        "Name": .variant("xiaoxiang BMS"),
        "RSSI": .variant(.int16(-71)),
        "UUIDs": .variant(.strings(["0000ff00-0000-1000-8000-00805f9b34fb"])),
        "Connected": .variant(true),
        "ServicesResolved": .variant(false),
        "Paired": .variant(false),
        "Bonded": .variant(true),
        "Trusted": .variant(true),
    ]

    @Test func fullDeviceMapDecodesEveryField() {
        let device = DeviceProperties(Self.fullDevice)
        #expect(device.adapter == "/org/bluez/hci0")
        #expect(device.address == "A4:C1:38:00:00:01")
        #expect(device.alias == "xiaoxiang BMS")
        #expect(device.name == "xiaoxiang BMS")
        #expect(device.rssi == -71)
        #expect(device.uuids == ["0000ff00-0000-1000-8000-00805f9b34fb"])
        #expect(device.connected == true)
        #expect(device.servicesResolved == false)
        #expect(device.paired == false)
        #expect(device.bonded == true)
        #expect(device.trusted == true)
    }

    @Test func partialMapLeavesTheRestUnknown() {
        let change = DeviceProperties(["Connected": .variant(false)])
        #expect(change == DeviceProperties(connectedOnly: false))
        // Unwrapped values (as a test or an older fake may send them) read the same.
        #expect(DeviceProperties(["Connected": false]) == change)
    }

    /// A value of another type than BlueZ documents reads as unknown, exactly as `value(as:)` on
    /// the raw map did before the decoders existed: never a crash, never a guess.
    @Test func wrongTypesReadAsUnknownAsARawLookupDid() {
        let wrong: [String: DBusValue] = [
            "Adapter": .variant("/org/bluez/hci0"),  // a string, not an object path
            "Address": .variant(.uint32(1)),
            "RSSI": .variant(.int32(-71)),  // BlueZ sends int16
            "UUIDs": .variant("ff00"),
            "Connected": .variant("yes"),
            "ServicesResolved": .variant(.byte(1)),
        ]
        let device = DeviceProperties(wrong)
        #expect(device == DeviceProperties())
        #expect(device.adapter == wrong["Adapter"]?.value(as: ObjectPath.self))
        #expect(device.rssi == wrong["RSSI"]?.value(as: Int16.self))
        #expect(device.connected == wrong["Connected"]?.value(as: Bool.self))
    }

    @Test func unknownNamesAreIgnored() {
        #expect(DeviceProperties(["ManufacturerData": .variant(.bytes([1, 2])), "TxPower": .variant(.int16(4))])
            == DeviceProperties())
    }

    /// `PropertiesChanged`: what it names is replaced, a wrong type makes the field unknown (the
    /// raw map stored the unreadable value over the old one), invalidated names are forgotten.
    @Test func updateReplacesForgetsAndKeepsTheRest() {
        var device = DeviceProperties(Self.fullDevice)
        device.update(["Connected": .variant(false), "RSSI": .variant("loud")], invalidated: ["Name"])
        #expect(device.connected == false)
        #expect(device.rssi == nil)
        #expect(device.name == nil)
        #expect(device.alias == "xiaoxiang BMS")
        #expect(device.servicesResolved == false)
        #expect(device.address == "A4:C1:38:00:00:01")
    }

    @Test func adapterPowered() {
        #expect(AdapterProperties(["Powered": .variant(true), "Discovering": .variant(false)]).powered == true)
        #expect(AdapterProperties(["Address": .variant("00:1A:7D:DA:71:13")]).powered == nil)
        var adapter = AdapterProperties(["Powered": .variant(true)])
        adapter.update([:], invalidated: ["Powered"])
        #expect(adapter.powered == nil)
    }

    @Test func gattServiceAndCharacteristic() {
        let service = GattServiceProperties([
            "UUID": .variant("0000ff00-0000-1000-8000-00805f9b34fb"), "Device": .variant(.objectPath(Self.devicePath)),
            "Primary": .variant(true),
        ])
        #expect(service.uuid == "0000ff00-0000-1000-8000-00805f9b34fb")
        #expect(service.device == Self.devicePath)

        let characteristic = GattCharacteristicProperties([
            "UUID": .variant("0000ff01-0000-1000-8000-00805f9b34fb"),
            "Service": .variant(.objectPath("/org/bluez/hci0/dev_A4_C1_38_00_00_01/service000c")),
            "Flags": .variant(.strings(["read", "notify"])),
            "Value": .variant(.bytes([0xDD, 0x03])),
        ])
        #expect(characteristic.uuid == "0000ff01-0000-1000-8000-00805f9b34fb")
        #expect(characteristic.service == "/org/bluez/hci0/dev_A4_C1_38_00_00_01/service000c")
        #expect(characteristic.flags == ["read", "notify"])
        #expect(characteristic.value == [0xDD, 0x03])
    }

    /// A notification is a partial map with only `Value`; the cache skips it, a listener reads it.
    @Test func notificationValueIsReadByListenersAndSkippedByTheCache() {
        let notification: [String: DBusValue] = ["Value": .variant(.bytes([0xDD, 0x03, 0x00]))]
        #expect(GattCharacteristicProperties(notification).value == [0xDD, 0x03, 0x00])
        #expect(GattCharacteristicProperties(["Value": .variant("text")]).value == nil)

        var kept = GattCharacteristicProperties(["UUID": .variant("0000ff01-0000-1000-8000-00805f9b34fb")])
        kept.update(withoutValue: notification)
        #expect(kept.value == nil)
        #expect(kept.uuid == "0000ff01-0000-1000-8000-00805f9b34fb")
    }

    @Test func objectTracksInterfacesItReadsAndOnesItDoesNot() {
        var object = BlueZObject([
            BlueZInterface.device: Self.fullDevice,
            "org.freedesktop.DBus.Introspectable": [:],
        ])
        #expect(object.has(BlueZInterface.device))
        #expect(object.has("org.freedesktop.DBus.Introspectable"))
        #expect(!object.has(BlueZInterface.adapter))

        let appliedToDevice = object.update(BlueZInterface.device, changed: ["Connected": .variant(false)], invalidated: [])
        #expect(appliedToDevice)
        #expect(object.device?.connected == false)
        // A change of an interface the object lacks (it raced the removal) is not applied.
        let appliedToAdapter = object.update(BlueZInterface.adapter, changed: ["Powered": .variant(true)], invalidated: [])
        #expect(!appliedToAdapter)
        #expect(object.adapter == nil)

        // InterfacesAdded replaces what was known of the interface it names.
        object.add([BlueZInterface.device: ["Address": .variant("A4:C1:38:00:00:01")]])
        #expect(object.device == DeviceProperties(["Address": .variant("A4:C1:38:00:00:01")]))

        object.remove([BlueZInterface.device])
        #expect(!object.isEmpty)
        object.remove(["org.freedesktop.DBus.Introspectable"])
        #expect(object.isEmpty)
    }

    @Test func cachedCharacteristicNeverKeepsValue() {
        var object = BlueZObject([
            BlueZInterface.characteristic: ["UUID": .variant("ff01"), "Value": .variant(.bytes([1]))]
        ])
        #expect(object.characteristic?.value == nil)
        let applied = object.update(BlueZInterface.characteristic, changed: ["Value": .variant(.bytes([2]))], invalidated: [])
        #expect(applied)
        #expect(object.characteristic?.value == nil)
        #expect(object.characteristic?.uuid == "ff01")
    }
}

extension DeviceProperties {
    /// Only `Connected` known, built field by field (not through the decoder under test).
    init(connectedOnly connected: Bool) {
        self.init()
        self.connected = connected
    }
}
