import Foundation

/// One battery of the fault rigs: what the fake BMS serves, and — computed independently of the
/// exporter's own tables, from the protocol document — every device sample that must be exported.
struct FaultBattery: ConfiguredRigBattery {
    var name: String
    var address: String
    var variant = "ff00"
    /// nil = the fake's default (write without response); `["read", "write"]` = older modules.
    var writeFlags: [String]?
    var cellsMillivolts: [Int]
    var temperaturesCelsius: [Double]
    var currentAmperes: Double
    var remainingAmpereHours: Double
    var nominalAmpereHours: Double
    var cycles: Int
    var productionDate = "2020-08-10"
    var softwareVersion = "2.5"
    var balanceBits = 0
    var protectionBits = 0
    var rsoc: Int
    var fetBits = 3
    /// nil: register 0x05 answers with an error status.
    var model: String?
    /// nil: register 0xAA answers with an error status.
    var counters: [Int]?
    /// BlueZ's `Cache=always` (its default): GATT objects and notify sessions survive disconnects.
    var gattCache = false
    /// The adapter it is behind and pinned to in the config; nil: hci0, unpinned.
    var adapter: String?

    /// Three batteries that differ in every value, variant and write mode, so a sample that
    /// reaches the wrong battery, or a stale or mis-decoded frame, cannot go unnoticed.
    static let trio: [FaultBattery] = [
        FaultBattery(
            name: "alpha", address: "A4:C1:38:00:00:11", cellsMillivolts: [3401, 3402, 3398, 3405],
            temperaturesCelsius: [21.5, 22.0, -3.5], currentAmperes: -12.34, remainingAmpereHours: 81.25,
            nominalAmpereHours: 100.0, cycles: 17, productionDate: "2022-03-28", softwareVersion: "2.6",
            balanceBits: 0b1010, protectionBits: 0b1_0000_0000_0001, rsoc: 81, fetBits: 1, model: "JBD-ALPHA-4S",
            counters: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
        FaultBattery(
            name: "bravo", address: "A4:C1:38:00:00:22", variant: "fff0",
            cellsMillivolts: [3301, 3299, 3301, 3304, 3310, 3290, 3300, 3302], temperaturesCelsius: [10.0],
            currentAmperes: 5.0, remainingAmpereHours: 20.0, nominalAmpereHours: 40.0, cycles: 3, rsoc: 50,
            model: nil, counters: nil),
        FaultBattery(
            name: "charlie", address: "A4:C1:38:00:00:33", writeFlags: ["read", "write"],
            cellsMillivolts: [3650, 3648, 3651, 3649], temperaturesCelsius: [30.4, 29.9], currentAmperes: 45.67,
            remainingAmpereHours: 150.5, nominalAmpereHours: 200.0, cycles: 250, productionDate: "2023-11-02",
            softwareVersion: "3.1", balanceBits: 0b0001, protectionBits: 0b100_0000_0000, rsoc: 75, fetBits: 2,
            model: "LX-CHARLIE", counters: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 42]),
    ]

    /// The `AddBattery` JSON for the fake.
    var fakeDefinition: [String: Any] {
        var bms: [String: Any] = [
            "cells_mv": cellsMillivolts, "temps_c": temperaturesCelsius, "current_a": currentAmperes,
            "remaining_ah": remainingAmpereHours, "nominal_ah": nominalAmpereHours, "cycles": cycles,
            "production_date": productionDate, "software_version": softwareVersion, "balance_bits": balanceBits,
            "protection_bits": protectionBits, "rsoc": rsoc, "fet_bits": fetBits,
            "model": model ?? NSNull(), "counters": counters ?? NSNull(),
        ]
        bms["voltage_v"] = NSNull()
        var battery: [String: Any] = [
            "address": address, "name": "\(name) BMS", "variant": variant, "gatt_cache": gattCache, "bms": bms,
        ]
        if let writeFlags { battery["write_flags"] = writeFlags }
        if let adapter { battery["adapter"] = adapter }
        return battery
    }

    /// Its entry in the config file's `batteries` list.
    var configEntry: String {
        "  - name: \(name)\n    address: \(address)\n" + (adapter.map { "    adapter: \($0)\n" } ?? "")
    }

    /// The protection labels in bit order (docs/protocol.md: bits 0…14).
    static let protectionLabels = [
        "cell_overvoltage", "cell_undervoltage", "pack_overvoltage", "pack_undervoltage",
        "charge_overtemperature", "charge_undertemperature", "discharge_overtemperature",
        "discharge_undertemperature", "charge_overcurrent", "discharge_overcurrent", "short_circuit",
        "frontend_error", "mosfet_software_lock", "charge_mosfet_fault", "discharge_mosfet_fault",
    ]

    /// The 0xAA counters' order in the payload (docs/protocol.md).
    static let counterLabels = [
        "short_circuit", "charge_overcurrent", "discharge_overcurrent", "cell_overvoltage", "cell_undervoltage",
        "charge_overtemperature", "charge_undertemperature", "discharge_overtemperature",
        "discharge_undertemperature", "pack_overvoltage", "pack_undervoltage",
    ]

    /// The families whose samples come from the BMS (absent while there is no fresh reading).
    static let deviceFamilies: Set<String> = [
        "bms_voltage_volts", "bms_current_amperes", "bms_remaining_capacity_ampere_hours",
        "bms_nominal_capacity_ampere_hours", "bms_full_charge_capacity_ampere_hours", "bms_state_of_charge_ratio",
        "bms_charge_cycles_total", "bms_cell_voltage_volts", "bms_temperature_celsius", "bms_cell_balancing",
        "bms_protection_active", "bms_alarm_active", "bms_mosfet_enabled", "bms_protection_events_total", "bms_info",
    ]

    /// Every device sample the exporter must show for this battery while its reading is fresh.
    var expectedSamples: [String: Double] {
        let label = #"battery="\#(name)""#
        var samples: [String: Double] = [:]
        func put(_ family: String, _ extra: String, _ value: Double) {
            samples["\(family){\(label)\(extra.isEmpty ? "" : ",\(extra)")}"] = value
        }
        // The fake encodes the pack voltage as the cell sum truncated to 10 mV.
        put("bms_voltage_volts", "", Double(cellsMillivolts.reduce(0, +) / 10) / 100)
        put("bms_current_amperes", "", currentAmperes)
        put("bms_remaining_capacity_ampere_hours", "", remainingAmpereHours)
        put("bms_nominal_capacity_ampere_hours", "", nominalAmpereHours)
        put("bms_state_of_charge_ratio", "", Double(rsoc) / 100)
        put("bms_charge_cycles_total", "", Double(cycles))
        for (index, millivolts) in cellsMillivolts.enumerated() {
            put("bms_cell_voltage_volts", #"cell="\#(index + 1)""#, Double(millivolts) / 1000)
            put("bms_cell_balancing", #"cell="\#(index + 1)""#, balanceBits & (1 << index) != 0 ? 1 : 0)
        }
        for (index, celsius) in temperaturesCelsius.enumerated() {
            put("bms_temperature_celsius", #"sensor="\#(index + 1)""#, celsius)
        }
        for (bit, protection) in Self.protectionLabels.enumerated() {
            put("bms_protection_active", #"protection="\#(protection)""#, protectionBits & (1 << bit) != 0 ? 1 : 0)
        }
        put("bms_mosfet_enabled", #"mosfet="charge""#, fetBits & 1 != 0 ? 1 : 0)
        put("bms_mosfet_enabled", #"mosfet="discharge""#, fetBits & 2 != 0 ? 1 : 0)
        if let counters {
            for (index, protection) in Self.counterLabels.enumerated() {
                put("bms_protection_events_total", #"protection="\#(protection)""#, Double(counters[index]))
            }
        }
        put("bms_info", #"address="\#(address)",model="\#(model ?? "")",software_version="\#(softwareVersion)",manufacture_date="\#(productionDate)",bank="",transport="bluetooth""#, 1)
        return samples
    }

    /// This battery's device samples in a parsed scrape.
    func deviceSamples(in samples: [String: Double]) -> [String: Double] {
        let marker = #"{battery="\#(name)""#
        return samples.filter { key, _ in
            guard let brace = key.firstIndex(of: "{") else { return false }
            return Self.deviceFamilies.contains(String(key[..<brace])) && key[brace...].hasPrefix(marker)
                && [",", "}"].contains(key[key.index(brace, offsetBy: marker.count)])
        }
    }

    /// How a scrape's device samples compare with `expected`: keys with a different value or
    /// unknown keys (wrong), and expected keys that are absent while others are present (missing).
    static func compare(_ shown: [String: Double], with expected: [String: Double]) -> (wrong: [String], missing: [String]) {
        guard !shown.isEmpty else { return ([], []) }
        let wrong = shown.compactMap { key, value -> String? in
            guard let want = expected[key] else { return "\(key) \(value) (not served by the fake)" }
            return abs(value - want) <= 1e-9 * max(1, abs(want)) ? nil : "\(key) \(value) (fake serves \(want))"
        }
        let missing = expected.keys.filter { shown[$0] == nil }
        return (wrong.sorted(), missing.sorted())
    }
}
