import DBus
import Foundation
import Testing

extension DBusTests {
    @Suite struct RoundTrip {
        let bus: TestBus

        init() throws {
            bus = try TestBus()
        }

        static let everyType: [DBusValue] = [
            .byte(0xA5), .boolean(true), .boolean(false), .int16(-12345), .uint16(54321),
            .int32(-2_000_000_000), .uint32(4_000_000_000), .int64(.min), .uint64(.max), .double(-3.25),
            .string(""), .string("Grüße, BMS ⚡"), .objectPath("/"), .objectPath("/org/bluez/hci0"),
            .signature("a{oa{sa{sv}}}"), .bytes([]), .bytes([0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77]),
            .strings(["ff00", "ff01"]), .strings([]), .objectPaths(["/a", "/a/b"]),
            .array(elementSignature: "i", [.int32(1), .int32(-1)]),
            .array(elementSignature: "ay", [.bytes([1, 2]), .bytes([])]),
            .array(elementSignature: "(sv)", [.structure([.string("k"), .variant(.uint16(7))])]),
            .vardict(["Transport": "le", "UUIDs": .strings(["ff00"]), "RSSI": .variant(.int16(-60))]),
            .vardict([:]),
            .dictionary(keySignature: "y", valueSignature: "s", [DBusDictionaryEntry(.byte(1), "one")]),
            .structure([.string("x"), .uint32(1), .structure([.boolean(true)])]),
            .variant(.variant(.double(0.5))), .variant(.strings(["a"])),
        ]

        @Test func everyTypeRoundTripsUnchanged() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            let echoed = try await EchoService.call("Echo", Self.everyType, from: client)
            #expect(echoed == Self.everyType)
            for value in Self.everyType {
                #expect(try await EchoService.call("Echo", [value], from: client) == [value])
            }
        }

        @Test func anArrayOfBytesComesBackAsBytes() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let sent = DBusValue.array(elementSignature: "y", [.byte(1), .byte(2)])
            #expect(try await EchoService.call("Echo", [sent], from: service.connection) == [.bytes([1, 2])])
        }

        @Test func managedObjectsDecodeInOneLine() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let device: ObjectPath = "/org/bluez/hci0/dev_A4_C1_38_00_00_01"
            let managedObjects = DBusValue.dictionary(keySignature: "o", valueSignature: "a{sa{sv}}", [
                DBusDictionaryEntry(.objectPath("/org/bluez/hci0"), .dictionary(
                    keySignature: "s", valueSignature: "a{sv}",
                    [DBusDictionaryEntry("org.bluez.Adapter1", .vardict(["Powered": true]))])),
                DBusDictionaryEntry(.objectPath(device), .dictionary(
                    keySignature: "s", valueSignature: "a{sv}", [
                        DBusDictionaryEntry("org.bluez.Device1", .vardict([
                            "Connected": true, "RSSI": .int16(-71), "UUIDs": .strings(["0000ff00-0000-1000-8000-00805f9b34fb"]),
                        ])),
                        DBusDictionaryEntry("org.freedesktop.DBus.Properties", .vardict([:])),
                    ])),
            ])
            #expect(managedObjects.signature == "a{oa{sa{sv}}}")

            let objects = try await EchoService.call("Echo", [managedObjects], from: service.connection)
                .decode([ObjectPath: [String: [String: DBusValue]]].self)

            #expect(objects.count == 2)
            let properties = try #require(objects[device]?["org.bluez.Device1"])
            #expect(properties["Connected"] == .boolean(true))
            #expect(properties["RSSI"]?.value(as: Int16.self) == -71)
            #expect(try properties["UUIDs"]?.decode([String].self) == ["0000ff00-0000-1000-8000-00805f9b34fb"])
            #expect(objects["/org/bluez/hci0"]?["org.bluez.Adapter1"]?["Powered"]?.value(as: Bool.self) == true)
        }

        @Test func largeByteArraysRoundTrip() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
            defer { try? random.close() }
            let payload = [UInt8](try #require(try random.read(upToCount: 4 * 1024 * 1024)))
            let echoed = try await EchoService.call("Echo", [.bytes(payload)], from: client, timeout: .seconds(20))
            #expect(try echoed.decode([UInt8].self) == payload)
        }

        @Test func errorRepliesCarryNameAndMessage() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            await #expect(throws: DBusError.errorReply(
                name: "org.bluez.Error.Failed", message: "le-connection-abort-by-local")
            ) {
                try await EchoService.call("Fail", from: service.connection)
            }
        }

        @Test func callsToUnexportedPathsGetUnknownMethod() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let error = await #expect(throws: DBusError.self) {
                try await service.connection.call(
                    destination: EchoService.name, path: "/org/example/Elsewhere", interface: EchoService.interface,
                    method: "Echo", timeout: .seconds(5))
            }
            #expect(error?.errorName == "org.freedesktop.DBus.Error.UnknownMethod")
        }

        /// 100 stays under the bus's default limit of pending replies per connection.
        @Test func concurrentCallsEachGetTheirOwnReply() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            try await withThrowingTaskGroup(of: (Int32, [DBusValue]).self) { group in
                for index in Int32(0)..<100 {
                    group.addTask { (index, try await EchoService.call("Echo", [.int32(index)], from: client)) }
                }
                var seen = 0
                for try await (index, reply) in group {
                    #expect(reply == [.int32(index)])
                    seen += 1
                }
                #expect(seen == 100)
            }
        }
    }
}
