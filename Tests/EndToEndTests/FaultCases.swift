import TestSupport
import Foundation

/// One fault: how to start it, how to clear it, and what it hits.
struct FaultCase: Sendable {
    enum Scope: Sendable {
        /// Hits the first battery only; the others must keep updating.
        case one
        /// Hits every battery at once (adapter, bluetoothd, bus); all must recover.
        case shared
    }

    enum Clearing: Sendable {
        /// Held for a while, then cleared by `clear`: recovery counts from the clearing.
        case held
        /// A single event, over when it happened (or cleared by the exporter's own action):
        /// recovery counts from the injection.
        case instant
    }

    let name: String
    let scope: Scope
    let clearing: Clearing
    /// An attempt in flight when the fault clears can only end at its own deadline
    /// (a hung connect, services that never resolve): that deadline adds to the bound.
    let waitsForConnectTimeout: Bool
    let inject: @Sendable (ExporterRig<FaultBattery>) async throws -> Void
    let clear: @Sendable (ExporterRig<FaultBattery>) async throws -> Void
    /// Repeated every `repeatEvery` while the fault is held (e.g. link drops to force reconnects).
    let during: (@Sendable (ExporterRig<FaultBattery>) async throws -> Void)?
    let repeatEvery: Duration
    /// The first battery behaves like BlueZ's default `Cache=always`: GATT objects and notify
    /// sessions survive its disconnects.
    var cachedTarget = false

    init(
        _ name: String, scope: Scope = .one, clearing: Clearing = .held, waitsForConnectTimeout: Bool = false,
        inject: @escaping @Sendable (ExporterRig<FaultBattery>) async throws -> Void,
        clear: @escaping @Sendable (ExporterRig<FaultBattery>) async throws -> Void = { _ in },
        during: (@Sendable (ExporterRig<FaultBattery>) async throws -> Void)? = nil, repeatEvery: Duration = .milliseconds(700)
    ) {
        self.name = name
        self.scope = scope
        self.clearing = clearing
        self.waitsForConnectTimeout = waitsForConnectTimeout
        self.inject = inject
        self.clear = clear
        self.during = during
        self.repeatEvery = repeatEvery
    }

    /// A fault of the fake's `SetFaults` on the first battery, optionally dropping the link so
    /// the fault meets a reconnect, cleared by setting it false.
    static func bms(_ fault: String, _ value: Any = true, reconnect: Bool = false, waitsForConnectTimeout: Bool = false,
                    clearing: Clearing = .held, repeatDrop: Bool = false) -> FaultCase {
        let valueText = FaultValue(value)
        let inject: @Sendable (ExporterRig<FaultBattery>) async throws -> Void = { rig in
            try await rig.fake.setFaults(rig.target.address, [fault: valueText.json])
            if reconnect { try await rig.fake.dropLink(rig.target.address) }
        }
        let clear: @Sendable (ExporterRig<FaultBattery>) async throws -> Void = { rig in
            try await rig.fake.setFaults(rig.target.address, [fault: false])
        }
        let drop: @Sendable (ExporterRig<FaultBattery>) async throws -> Void = { rig in try await rig.fake.dropLink(rig.target.address) }
        return FaultCase(
            fault, clearing: clearing, waitsForConnectTimeout: waitsForConnectTimeout, inject: inject, clear: clear,
            during: repeatDrop ? drop : nil)
    }

    static let all: [FaultCase] = [
        .bms("connect_abort", reconnect: true),
        .bms("connect_hang", reconnect: true, waitsForConnectTimeout: true),
        .bms("stale_pending_connect", reconnect: true, clearing: .instant),
        .bms("services_never_resolve", reconnect: true, waitsForConnectTimeout: true),
        .bms("silent"),
        .bms("drop_first_reply", reconnect: true, repeatDrop: true),
        .bms("corrupt_checksum"),
        // A false start (DD, a register, a length running past the real frame) and plain junk.
        .bms("garbage_prefix", "dd03771a00ff0102fe77aa55"),
        // An unsolicited frame for a register never asked for, and a corrupt 0x04 frame carrying
        // other cell voltages: neither may reach the metrics.
        .bms("stray_frames", ["dd0700020102fffb77", "dd04000804d204d204d204d2fc0077"]),
        .bms("random_chunks", reconnect: true, repeatDrop: true),
        .bms("drop_link_mid_frame"),
        FaultCase("device_removed", clearing: .instant, inject: { rig in
            try await rig.fake.removeDeviceObject(rig.target.address)
        }),
        // The module turns into one that echoes every request until paired (reason auth), and back.
        FaultCase("echo_until_paired", inject: { rig in
            try await rig.fake.setSecurity(rig.target.address, ["security": "echo_until_paired"])
        }, clear: { rig in
            try await rig.fake.setSecurity(rig.target.address, ["security": "classic"])
        }),
        // A password set in the vendor app of an FF AA module, with no password_file configured:
        // the locked module stays silent, and no FF AA frame may be sent; the password removed again
        // (takes effect at the next connect).
        FaultCase("ffaa_locked_no_password_file", inject: { rig in
            try await rig.fake.setSecurity(rig.target.address, ["security": "ffaa_password", "password": "Ab3x9q"])
            try await rig.fake.dropLink(rig.target.address)
        }, clear: { rig in
            try await rig.fake.setSecurity(rig.target.address, ["security": "classic"])
            try await rig.fake.dropLink(rig.target.address)
        }),
        FaultCase("adapter_off", scope: .shared, inject: { rig in
            try await rig.fake.setAdapterPowered("hci0", false)
        }, clear: { rig in
            try await rig.fake.setAdapterPowered("hci0", true)
        }),
        FaultCase("bluetoothd_killed", scope: .shared, inject: { rig in
            await rig.fake.killBlueZ()
        }, clear: { rig in
            try await rig.fake.startBlueZ()
        }),
        FaultCase("dbus_daemon_restart", scope: .shared, inject: { rig in
            await rig.fake.stopBus()
        }, clear: { rig in
            try await rig.fake.startBus()
        }),
        // With BlueZ's default GATT cache the link-loss paths differ (objects stay, notify sessions
        // are re-registered, calls on cached objects fail "Not connected").
        .bms("drop_link_mid_frame").cached(),
        FaultCase("device_removed", clearing: .instant, inject: { rig in
            try await rig.fake.removeDeviceObject(rig.target.address)
        }).cached(),
        FaultCase("bluetoothd_killed", scope: .shared, inject: { rig in
            await rig.fake.killBlueZ()
        }, clear: { rig in
            try await rig.fake.startBlueZ()
        }).cached(),
        // Compound: the event lands while a Connect of the first battery hangs in BlueZ.
        .midConnect("device_removed_mid_connect") { rig in try await rig.fake.removeDeviceObject(rig.target.address) },
        .midConnect("bluetoothd_killed_mid_connect", scope: .shared) { rig in
            await rig.fake.killBlueZ()
            try await rig.fake.startBlueZ()
        },
        .midConnect("dbus_daemon_restart_mid_connect", scope: .shared) { rig in
            await rig.fake.stopBus()
            try await rig.fake.startBus()
        },
    ]

    /// The same fault with the first battery's GATT cache on.
    func cached() -> FaultCase {
        var copy = self
        copy.cachedTarget = true
        return copy
    }

    /// The row's name in the table.
    var label: String { cachedTarget ? "\(name) (GATT cache)" : name }

    /// Makes the first battery's connects hang and drops its link; once the exporter's Connect is
    /// pending, lifts the fault (the pending call stays hung) and fires `event`.
    static func midConnect(
        _ name: String, scope: Scope = .one, _ event: @escaping @Sendable (ExporterRig<FaultBattery>) async throws -> Void
    ) -> FaultCase {
        FaultCase(name, scope: scope, inject: { rig in
            try await rig.fake.setFaults(rig.target.address, ["connect_hang": true])
            try await rig.fake.dropLink(rig.target.address)
        }, clear: { rig in
            try await rig.waitForPendingConnect(rig.target.address)
            try await rig.fake.setFaults(rig.target.address, ["connect_hang": false])
            try await event(rig)
        })
    }
}

/// A JSON value for a fault, carried across tasks.
struct FaultValue: @unchecked Sendable {
    let json: Any
    init(_ json: Any) { self.json = json }
}

extension ExporterRig where Battery == FaultBattery {
    /// The battery single-battery faults hit.
    var target: FaultBattery { batteries[0] }
}
