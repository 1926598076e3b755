@_spi(Testing) import DBus
import Testing

extension DBusTests {
    @Suite struct Signals {
        let bus: TestBus

        init() throws {
            bus = try TestBus()
        }

        @Test func aSignalEmittedRightAfterSubscribingIsReceived() async throws {
            let subscriber = try DBusConnection(address: bus.address)
            defer { subscriber.close() }
            let emitter = try DBusConnection(address: bus.address)
            defer { emitter.close() }
            // Repeated because a missing AddMatch acknowledgement would only lose some races.
            for round in UInt32(0)..<25 {
                let stream = try await subscriber.signals(matching: MatchRule(
                    path: "/org/example/Race", interface: "org.example.Race", member: "Tick"))
                try await emitter.emitSignal(
                    path: "/org/example/Race", interface: "org.example.Race", member: "Tick", arguments: [.uint32(round)])
                let received = try await next(of: stream)
                #expect(received.map(\.arguments) == [[.uint32(round)]])
                #expect(received.first?.sender == emitter.uniqueName)
            }
        }

        @Test func signalsAreFilteredByPathInterfaceMemberAndArg0() async throws {
            let subscriber = try DBusConnection(address: bus.address)
            defer { subscriber.close() }
            let emitter = try DBusConnection(address: bus.address)
            defer { emitter.close() }
            let properties = "org.freedesktop.DBus.Properties"
            let exact = try await subscriber.signals(matching: MatchRule(
                path: "/org/bluez/hci0/dev_1/char0010", interface: properties, member: "PropertiesChanged",
                arg0: "org.bluez.GattCharacteristic1"))
            let namespace = try await subscriber.signals(matching: MatchRule(
                pathNamespace: "/org/bluez/hci0", interface: properties, member: "PropertiesChanged"))
            let bySender = try await subscriber.signals(matching: MatchRule(
                sender: emitter.uniqueName, interface: "org.example.Other"))

            func emit(_ path: ObjectPath, _ interface: String, _ member: String, _ arg0: String) async throws {
                try await emitter.emitSignal(
                    path: path, interface: interface, member: member,
                    arguments: [.string(arg0), .vardict(["Value": .bytes([0xDD])]), .strings([])])
            }
            try await emit("/org/bluez/hci0/dev_1/char0010", properties, "PropertiesChanged", "org.bluez.Device1")
            try await emit("/org/bluez/hci0/dev_1/char0010", "org.example.Other", "PropertiesChanged", "x")
            try await emit("/org/bluez/hci0/dev_1/char0010", properties, "Other", "org.bluez.GattCharacteristic1")
            try await emit("/org/bluez/hci01", properties, "PropertiesChanged", "org.bluez.GattCharacteristic1")
            try await emit("/org/bluez/hci0/dev_1/char0010", properties, "PropertiesChanged", "org.bluez.GattCharacteristic1")

            // Each stream's first signals are exactly those its rule allows, in emission order.
            let exactReceived = try await next(of: exact)
            #expect(exactReceived.map(\.path) == ["/org/bluez/hci0/dev_1/char0010"])
            #expect(exactReceived.first?.arguments.first == "org.bluez.GattCharacteristic1")
            #expect(try exactReceived.first?.arguments.decode([String: DBusValue].self, at: 1)["Value"] == .bytes([0xDD]))

            let namespaceReceived = try await next(2, of: namespace)
            #expect(namespaceReceived.map(\.arguments.first) == ["org.bluez.Device1", "org.bluez.GattCharacteristic1"])

            let senderReceived = try await next(of: bySender)
            #expect(senderReceived.map(\.interface) == ["org.example.Other"])
            #expect(senderReceived.first?.member == "PropertiesChanged")
        }

        @Test func endingAStreamRemovesItsMatchRule() async throws {
            let subscriber = try DBusConnection(address: bus.address)
            defer { subscriber.close() }
            let rule = MatchRule(pathNamespace: "/org/example", interface: "org.example.Gone")
            #expect(try await subscriber.matchRulesOnBus() == [])

            // Dropped stream. The bus handles our messages in order, so the RemoveMatch sent
            // on termination is processed before the next query.
            do {
                let stream = try await subscriber.signals(matching: rule)
                #expect(try await subscriber.matchRulesOnBus().count == 1)
                _ = stream
            }
            #expect(try await subscriber.matchRulesOnBus() == [])

            // Consumer task cancelled.
            let stream = try await subscriber.signals(matching: rule)
            let consumer = Task { for await _ in stream {} }
            #expect(try await subscriber.matchRulesOnBus().count == 1)
            consumer.cancel()
            await consumer.value
            #expect(try await subscriber.matchRulesOnBus() == [])
        }

        @Test func identicalRulesAreCountedPerSubscription() async throws {
            let subscriber = try DBusConnection(address: bus.address)
            defer { subscriber.close() }
            let emitter = try DBusConnection(address: bus.address)
            defer { emitter.close() }
            let rule = MatchRule(interface: "org.example.Twice")
            let kept = try await subscriber.signals(matching: rule)
            do {
                let dropped = try await subscriber.signals(matching: rule)
                _ = dropped
            }
            #expect(try await subscriber.matchRulesOnBus().count == 1)
            try await emitter.emitSignal(path: "/", interface: "org.example.Twice", member: "Still")
            #expect(try await next(of: kept).map(\.member) == ["Still"])
        }

        @Test func nameOwnerChangedReportsAcquisitionAndRelease() async throws {
            let watcher = try DBusConnection(address: bus.address)
            defer { watcher.close() }
            let changes = try await watcher.signals(matching: .nameOwnerChanged("org.example.Coming"))
            let owner = try DBusConnection(address: bus.address)
            let ownerName = owner.uniqueName
            try await owner.requestName("org.example.Coming")
            owner.close()
            let received = try await next(2, of: changes)
            #expect(received.map(\.arguments) == [
                ["org.example.Coming", "", .string(ownerName)],
                ["org.example.Coming", .string(ownerName), ""],
            ])
            #expect(received.allSatisfy { $0.sender == "org.freedesktop.DBus" && $0.member == "NameOwnerChanged" })
        }

        @Test func aSubscriptionWithAnInvalidRuleThrowsTheBusError() async throws {
            let subscriber = try DBusConnection(address: bus.address)
            defer { subscriber.close() }
            let error = await #expect(throws: DBusError.self) {
                try await subscriber.signals(matching: MatchRule(path: "/a", pathNamespace: "/b"))
            }
            #expect(error?.errorName == "org.freedesktop.DBus.Error.MatchRuleInvalid")
            #expect(try await subscriber.matchRulesOnBus() == [])
        }
    }
}
