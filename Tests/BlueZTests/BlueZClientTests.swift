import Basics
import BlueZ
import TestSupport
import Testing

@Suite struct ConnectTests {
    @Test func discoversConnectsNotifiesWritesAndDisconnects() async throws {
        let world = try await World.start()
        let device = try await world.device()
        #expect(device.info?.name == "xiaoxiang BMS")
        let notifications = Notifications()
        let (write, subscription) = try await openUART(device, notifications: notifications)
        #expect(write.writeType == "command")
        try await write.write(basicInfoRequest, timeout: ample)
        let reply = await notifications.read(basicInfoReplyLength)
        #expect(reply.count == basicInfoReplyLength)
        #expect(reply.first == 0xDD && reply.last == 0x77)
        subscription.cancel()
        await device.disconnect()
        let state = try await world.batteryState()
        #expect(state["connected"] as? Bool == false)
        #expect(try await world.fake.worldState()["adapters"].flatMap { ($0 as? [String: Any])?["hci0"] as? [String: Any] }?["discovering"] as? Bool == false)
        #expect(try await world.fake.writes().map(\.type) == ["command"])
        await world.close()
    }

    @Test func fff0VariantIsFoundByUUID() async throws {
        let world = try await World.start(battery: ["variant": "fff0"])
        let device = try await world.device()
        #expect(device.characteristic(BluetoothUUID("ff01"), in: BluetoothUUID("ff00")) == nil)
        let notifications = Notifications()
        let (write, subscription) = try await openUART(device, notifications: notifications, variant: "fff0")
        try await write.write(basicInfoRequest, timeout: ample)
        #expect(await notifications.read(basicInfoReplyLength).count == basicInfoReplyLength)
        subscription.cancel()
        await device.disconnect()
        await world.close()
    }

    @Test func writeRequestWhenTheModuleHasNoWriteWithoutResponse() async throws {
        let world = try await World.start(battery: ["write_flags": ["read", "write"]])
        let device = try await world.device()
        let notifications = Notifications()
        let (write, subscription) = try await openUART(device, notifications: notifications)
        #expect(write.writeType == "request")
        try await write.write(basicInfoRequest, timeout: ample)
        #expect(await notifications.read(basicInfoReplyLength).count == basicInfoReplyLength)
        #expect(try await world.fake.writes().map(\.type) == ["request"])
        subscription.cancel()
        await device.disconnect()
        await world.close()
    }

    @Test func abortByLocalIsRetriedWithBackoff() async throws {
        let world = try await World.start(battery: ["faults": ["connect_abort": 2]])
        let device = try await world.device()
        try await device.connect(timeout: ample)
        #expect(device.isReady)
        #expect(try await world.batteryState()["connect_attempts"] as? Int == 3)
        await device.disconnect()
        await world.close()
    }

    @Test func abortByLocalUntilTheDeadlineNamesTheReason() async throws {
        let world = try await World.start(battery: ["faults": ["connect_abort": true]])
        let device = try await world.device()
        await #expect(throws: BlueZError.failed("le-connection-abort-by-local")) {
            // Long enough for two attempts (100 ms backoff) even when round trips are slow.
            try await device.connect(timeout: .seconds(2))
        }
        let state = try await world.batteryState()
        #expect(state["connected"] as? Bool == false)
        #expect((state["connect_attempts"] as? Int ?? 0) >= 2)
        await world.close()
    }

    @Test func hangingConnectIsCancelledWithDisconnectAtTheDeadline() async throws {
        let world = try await World.start(battery: ["faults": ["connect_hang": true]])
        let device = try await world.device()
        let started = ContinuousClock.now
        do {
            try await device.connect(timeout: .milliseconds(500))
            Issue.record("connect should time out")
        } catch {
            guard case .timeout(let what) = error else { throw error }
            #expect(what.contains("did not answer Connect"))
        }
        // The fake never answers: any bound proves the deadline ended the wait.
        #expect(ContinuousClock.now - started < .seconds(10))
        let state = try await world.batteryState()
        #expect(state["connect_pending"] as? Bool == false)
        #expect(state["connected"] as? Bool == false)
        await world.close()
    }

    @Test func stalePendingConnectIsClearedWithDisconnect() async throws {
        let world = try await World.start(battery: ["faults": ["stale_pending_connect": true]])
        let device = try await world.device()
        try await device.connect(timeout: ample)
        #expect(device.isReady)
        await device.disconnect()
        await world.close()
    }

    @Test func servicesThatNeverResolveTimeOutAndDisconnect() async throws {
        let world = try await World.start(battery: ["faults": ["services_never_resolve": true]])
        let device = try await world.device()
        do {
            try await device.connect(timeout: .milliseconds(500))
            Issue.record("connect should time out")
        } catch {
            guard case .timeout(let what) = error else { throw error }
            #expect(what.contains("not resolved"))
        }
        #expect(try await world.batteryState()["connected"] as? Bool == false)
        await world.close()
    }

    @Test func alreadyConnectedAtStartIsUsedWithoutConnect() async throws {
        let world = try await World.start()
        // A previous process connected and died without disconnecting.
        let previous = BluetoothStack(busAddress: world.fake.busAddress)
        let old = try await previous.adapter(named: "hci0")
            .findDevice(BluetoothAddress(address1)!, filter: jbdFilter, timeout: ample)
        try await old.connect(timeout: ample)
        await previous.close()
        #expect(try await world.batteryState()["connected"] as? Bool == true)

        let device = try await world.device()
        try await device.connect(timeout: ample)
        #expect(try await world.batteryState()["connect_attempts"] as? Int == 1)
        let notifications = Notifications()
        let (write, subscription) = try await openUART(device, notifications: notifications)
        try await write.write(basicInfoRequest, timeout: ample)
        #expect(await notifications.read(basicInfoReplyLength).count == basicInfoReplyLength)
        subscription.cancel()
        await device.disconnect()
        await world.close()
    }

    @Test func startNotifyInProgressCountsAsSubscribed() async throws {
        let world = try await World.start(delays: ["notify_delay_ms": 100])
        let device = try await world.device()
        try await device.connect(timeout: ample)
        let notify = try #require(device.characteristic(BluetoothUUID("ff01"), in: BluetoothUUID("ff00")))
        async let first: Void = notify.startNotify(timeout: ample)
        async let second: Void = notify.startNotify(timeout: ample)
        _ = try await (first, second)
        #expect(try await world.batteryState()["notifying"] as? Bool == true)
        await device.disconnect()
        await world.close()
    }
}

@Suite struct AvailabilityTests {
    @Test func absentDeviceIsNotFoundAfterDiscoveryAndDiscoveryStops() async throws {
        let world = try await World.start(battery: ["in_range": false])
        let adapter = try await world.stack.adapter(named: "hci0")
        await #expect(throws: BlueZError.notFound("device A4:C1:38:00:00:01 within 300ms")) {
            _ = try await adapter.findDevice(BluetoothAddress(address1)!, filter: jbdFilter, timeout: .milliseconds(300))
        }
        let adapters = try await world.fake.worldState()["adapters"] as? [String: [String: Any]]
        #expect(adapters?["hci0"]?["discovering"] as? Bool == false)
        await world.close()
    }

    @Test func deviceOutOfRangeRefusesConnect() async throws {
        let world = try await World.start(battery: ["known": true])
        try await world.fake.setInRange(address1, false)
        let device = try await world.device()
        await #expect(throws: BlueZError.failed("le-connection-abort-by-local")) {
            try await device.connect(timeout: .seconds(1))
        }
        await world.close()
    }

    @Test func lookupByAddressIgnoresCase() async throws {
        let world = try await World.start(battery: ["known": true])
        let adapter = try await world.stack.adapter(named: "hci0")
        #expect(adapter.device(BluetoothAddress("a4:c1:38:00:00:01")!) != nil)
        await world.close()
    }

    @Test func poweredOffAdapterIsNotReady() async throws {
        let world = try await World.start(battery: ["known": true])
        try await world.fake.setAdapterPowered("hci0", false)
        let adapter = try await world.stack.adapter(named: "hci0")
        #expect(throws: BlueZError.notReady("adapter hci0 is powered off")) { try adapter.requirePowered() }
        let device = try #require(adapter.device(BluetoothAddress(address1)!))
        do {
            try await device.connect(timeout: .seconds(2))
            Issue.record("connect should fail")
        } catch {
            guard case .notReady = error else { throw error }
        }
        await world.close()
    }

    @Test func missingAdapterListsTheOnesThatExist() async throws {
        let world = try await World.start()
        await #expect(throws: BlueZError.adapterMissing(name: "hci1", available: ["hci0"])) {
            _ = try await world.stack.adapter(named: "hci1")
        }
        #expect(BlueZError.adapterMissing(name: "hci1", available: ["hci0"]).description == "adapter hci1 not found (adapters: hci0)")
        await world.close()
    }

    @Test func bluetoothdNotRunningIsServiceUnknown() async throws {
        let world = try await World.start()
        await world.fake.stopBlueZ()
        await #expect(throws: BlueZError.serviceUnknown) { _ = try await world.stack.adapter(named: "hci0") }
        await world.close()
    }
}

@Suite struct LinkLossTests {
    @Test func droppedLinkIsReportedOnce() async throws {
        let world = try await World.start()
        let device = try await world.device()
        try await device.connect(timeout: ample)
        let losses = Notifications()
        let subscription = try device.onLinkLoss { reason in losses.handler(Array(reason.utf8)) }
        try await world.fake.dropLink(address1)
        let reason = String(decoding: await losses.read(1), as: UTF8.self)
        #expect(reason.contains("services no longer resolved") || reason.contains("disconnected"))
        // Connected=false follows ServicesResolved=false: still only one report.
        try await device.connect(timeout: ample)
        #expect(await losses.read(1, timeout: .milliseconds(100)).isEmpty)
        subscription.cancel()
        await device.disconnect()
        await world.close()
    }

    @Test func deviceRemovedWhileConnectedIsALinkLoss() async throws {
        let world = try await World.start()
        let device = try await world.device()
        try await device.connect(timeout: ample)
        let losses = Notifications()
        let subscription = try device.onLinkLoss { reason in losses.handler(Array(reason.utf8)) }
        try await world.fake.removeDeviceObject(address1)
        #expect(await losses.read(1).isEmpty == false)
        subscription.cancel()
        await world.close()
    }

    @Test func bluetoothdGoneAndBack() async throws {
        let world = try await World.start(battery: ["known": true])
        let device = try await world.device()
        try await device.connect(timeout: ample)
        let losses = Notifications()
        let subscription = try device.onLinkLoss { reason in losses.handler(Array(reason.utf8)) }
        await world.fake.stopBlueZ()
        #expect(String(decoding: await losses.read(1), as: UTF8.self).contains("bluetoothd stopped"))
        try await world.fake.startBlueZ()
        try await world.stack.waitUntilAvailable(timeout: ample)
        // Every cached path was dropped and reloaded: the remembered device is found again and works.
        let again = try await world.device()
        let notifications = Notifications()
        let (write, values) = try await openUART(again, notifications: notifications)
        try await write.write(basicInfoRequest, timeout: ample)
        #expect(await notifications.read(basicInfoReplyLength).count == basicInfoReplyLength)
        values.cancel()
        subscription.cancel()
        await again.disconnect()
        await world.close()
    }

    @Test func busDaemonRestartReconnectsTheStack() async throws {
        let world = try await World.start(battery: ["known": true])
        let device = try await world.device()
        try await device.connect(timeout: ample)
        let losses = Notifications()
        let subscription = try device.onLinkLoss { reason in losses.handler(Array(reason.utf8)) }
        try await world.fake.restartBus()
        #expect(await losses.read(1).isEmpty == false)
        let again = try await world.device()
        try await again.connect(timeout: ample)
        #expect(again.isReady)
        subscription.cancel()
        await again.disconnect()
        await world.close()
    }
}

@Suite struct SignalStrengthTests {
    @Test(arguments: [(-127, -127), (-71, -71), (20, 20)])
    func measurementsInHCIsRangeAreKept(raw: Int, measured: Int) {
        #expect(DeviceInfo.measured(raw) == measured)
    }

    /// 127 is HCI's "not available"; the others are outside what a radio can report.
    @Test(arguments: [127, 21, -128, Int(Int16.min), Int(Int16.max)])
    func anythingElseIsNoMeasurement(raw: Int) {
        #expect(DeviceInfo.measured(raw) == nil)
    }
}
