import TestSupport
import Foundation

/// One battery of the adapter tests (issue 15): behind one of several adapters, and pinned to it
/// in the config file.
struct AdapterBattery: ConfiguredRigBattery {
    let name: String
    let address: String
    let adapter: String
    var keepConnected = true
    /// Out of range: discovery never sees it, and a connect aborts.
    var inRange = true

    /// `count` batteries per adapter, named `<adapter>-<n>`, at addresses of their own.
    static func batteries(_ count: Int, on adapters: [String], keepConnected: Bool = true) -> [AdapterBattery] {
        adapters.enumerated().flatMap { adapterIndex, adapter in
            (1...count).map { index in
                AdapterBattery(
                    name: "\(adapter)-\(index)", address: String(format: "A4:C1:38:15:%02X:%02X", adapterIndex, index),
                    adapter: adapter, keepConnected: keepConnected)
            }
        }
    }

    var fakeDefinition: [String: Any] {
        ["address": address, "name": "\(name) BMS", "adapter": adapter, "in_range": inRange]
    }

    /// Its entry in the config file's `batteries` list.
    var configEntry: String {
        "  - name: \(name)\n    address: \(address)\n    adapter: \(adapter)\n" + (keepConnected ? "" : "    keep_connected: false\n")
    }
}

extension ExporterRig where Battery == AdapterBattery {
    /// Runs `body` with the fake holding `batteries` on their adapters (each adapter given
    /// `adapterSettings`) and `serve` running their config with `arguments`; stops it afterwards.
    static func with(
        _ batteries: [AdapterBattery], adapterSettings: [String: Any] = [:], delays: [String: Int] = FakeBlueZ.fastDelays,
        arguments: [String] = [], _ body: (ExporterRig) async throws -> Void
    ) async throws {
        try await with(
            batteries, config: AdapterBattery.config(batteries), arguments: arguments, delays: delays,
            adapters: Set(batteries.map(\.adapter)).sorted(), adapterSettings: adapterSettings, body)
    }

    /// A check that every battery named is up, with a reading taken at `time` or later.
    func allUp(_ names: [String], since time: Double = 0) -> ([String: Double]) -> Bool {
        { samples in
            names.allSatisfy {
                samples[#"bms_up{battery="\#($0)"}"#] == 1
                    && (samples[#"bms_last_success_timestamp_seconds{battery="\#($0)"}"#] ?? 0) >= time
            }
        }
    }
}

extension [String: Double] {
    func adapter(_ family: String, _ adapter: String) -> Double? {
        self[#"\#(family){adapter="\#(adapter)"}"#]
    }

    func battery(_ family: String, _ battery: String, _ extra: String = "") -> Double? {
        self[#"\#(family){battery="\#(battery)"\#(extra)}"#]
    }
}
