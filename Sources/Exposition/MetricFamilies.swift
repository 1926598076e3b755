import BatterySession
import JBD

/// The metric contract: every family, in exposition order, with how it reads a status.
enum MetricFamilies {
    static let backgroundNote = " Read in the background; each scrape serves the latest reading."
    static let buildInfoHelp = "Build information of bms_exporter; always 1."

    static let all: [MetricFamily] = health + energy + device

    /// Series that describe the exporter's view of a battery; present whatever its state.
    static let health: [MetricFamily] = [
        MetricFamily(name: "bms_up", kind: .gauge,
                     help: "1 when the latest poll succeeded and its reading is fresher than the maximum age, else 0.") {
            status, reading, out in
            out.sample(status.lastPollSucceeded && reading != nil ? 1 : 0)
        },
        MetricFamily(name: "bms_connected", kind: .gauge, help: "1 while the Bluetooth link to the BMS is up.") {
            status, _, out in
            out.sample(status.connected ? 1 : 0)
        },
        MetricFamily(name: "bms_rssi_dbm", kind: .gauge, help: "Received signal strength of the BMS, as BlueZ last reported it (BlueZ reports it while discovering).") {
            status, _, out in
            if let rssi = status.rssi { out.sample(Double(rssi)) }
        },
        MetricFamily(name: "bms_paired", kind: .gauge,
                     help: "1 when BlueZ holds a pairing (bond) with the module, 0 when not; absent until BlueZ has reported it.") {
            status, _, out in
            if let paired = status.paired { out.sample(paired ? 1 : 0) }
        },
        MetricFamily(name: "bms_last_success_timestamp_seconds", kind: .gauge,
                     help: "Unix time of the last good reading.") {
            status, _, out in
            if let timestamp = status.reading?.timestamp { out.sample(timestamp) }
        },
        MetricFamily(name: "bms_poll_duration_seconds", kind: .gauge, help: "Duration of the last poll.") {
            status, _, out in
            if let duration = status.lastPollDurationSeconds { out.sample(duration) }
        },
        MetricFamily(name: "bms_poll_failures_total", kind: .counter,
                     help: "Failed polls and connection attempts, by reason.") {
            status, _, out in
            for reason in FailureReason.allCases {
                out.sample(Double(status.failures[reason] ?? 0), "reason", reason.rawValue)
            }
        },
    ]

    /// Series read from the BMS; absent while there is no fresh reading.
    static let device: [MetricFamily] = [
        MetricFamily(name: "bms_voltage_volts", kind: .gauge, help: "Pack voltage." + backgroundNote) {
            _, reading, out in
            if let reading { out.sample(reading.basicInfo.voltageVolts) }
        },
        MetricFamily(name: "bms_current_amperes", kind: .gauge,
                     help: "Pack current: positive while charging, negative while discharging." + backgroundNote) {
            _, reading, out in
            if let reading { out.sample(reading.basicInfo.currentAmperes) }
        },
        MetricFamily(name: "bms_remaining_capacity_ampere_hours", kind: .gauge,
                     help: "Remaining capacity as reported by the BMS." + backgroundNote) {
            _, reading, out in
            if let reading { out.sample(reading.basicInfo.remainingCapacityAmpereHours) }
        },
        MetricFamily(name: "bms_nominal_capacity_ampere_hours", kind: .gauge,
                     help: "Nominal (design) capacity configured in the BMS." + backgroundNote) {
            _, reading, out in
            if let reading { out.sample(reading.basicInfo.nominalCapacityAmpereHours) }
        },
        MetricFamily(name: "bms_full_charge_capacity_ampere_hours", kind: .gauge,
                     help: "Full-charge capacity learned by the BMS (V11 boards only)." + backgroundNote) {
            _, reading, out in
            if let v11 = reading?.basicInfo.v11 { out.sample(v11.fullChargeCapacityAmpereHours) }
        },
        MetricFamily(name: "bms_state_of_charge_ratio", kind: .gauge,
                     help: "State of charge computed by the BMS, 0 to 1." + backgroundNote) {
            _, reading, out in
            if let reading { out.sample(Double(reading.basicInfo.stateOfChargePercent) / 100) }
        },
        MetricFamily(name: "bms_charge_cycles_total", kind: .counter, help: "Charge cycles as counted by the BMS.") {
            _, reading, out in
            if let reading { out.sample(Double(reading.basicInfo.chargeCycles)) }
        },
        MetricFamily(name: "bms_cell_voltage_volts", kind: .gauge, help: "Cell voltage, cell 1 first." + backgroundNote) {
            _, reading, out in
            guard let reading else { return }
            for (index, millivolts) in reading.cells.millivolts.enumerated() {
                out.sample(Double(millivolts) / 1000, "cell", String(index + 1))
            }
        },
        MetricFamily(name: "bms_temperature_celsius", kind: .gauge, help: "Temperature per probe." + backgroundNote) {
            _, reading, out in
            guard let reading else { return }
            for (index, celsius) in reading.basicInfo.temperaturesCelsius.enumerated() {
                out.sample(celsius, "sensor", String(index + 1))
            }
        },
        MetricFamily(name: "bms_cell_balancing", kind: .gauge, help: "1 while the cell's balancer is on.") {
            _, reading, out in
            guard let reading else { return }
            let balancing = Set(reading.basicInfo.balancingCells)
            for cell in reading.cells.millivolts.indices.map({ $0 + 1 }) {
                out.sample(balancing.contains(cell), "cell", String(cell))
            }
        },
        MetricFamily(name: "bms_protection_active", kind: .gauge, help: "1 while the protection is active; every known protection is listed.") {
            _, reading, out in
            guard let reading else { return }
            let status = reading.basicInfo.protectionStatus
            for flag in ProtectionFlag.allCases {
                out.sample(status & (1 << UInt16(flag.rawValue)) != 0, "protection", flag.name)
            }
        },
        MetricFamily(name: "bms_alarm_active", kind: .gauge, help: "1 while the alarm is active (V11 boards only).") {
            _, reading, out in
            guard let v11 = reading?.basicInfo.v11 else { return }
            for flag in AlarmFlag.allCases {
                out.sample(v11.alarmStatus & (1 << UInt16(flag.rawValue)) != 0, "alarm", flag.name)
            }
        },
        MetricFamily(name: "bms_mosfet_enabled", kind: .gauge, help: "1 while the charge or discharge MOSFET is on.") {
            _, reading, out in
            guard let reading else { return }
            out.sample(reading.basicInfo.chargeMosfetEnabled, "mosfet", "charge")
            out.sample(reading.basicInfo.dischargeMosfetEnabled, "mosfet", "discharge")
        },
        MetricFamily(name: "bms_protection_events_total", kind: .counter,
                     help: "Protection events counted by the BMS since manufacture, where supported (register 0xAA).") {
            _, reading, out in
            guard let counters = reading?.protectionCounters else { return }
            for flag in ProtectionCounters.order {
                out.sample(Double(counters.counts[flag] ?? 0), "protection", flag.name)
            }
        },
        MetricFamily(name: "bms_info", kind: .gauge, help: "Identity of the BMS; always 1.") {
            status, reading, out in
            guard let reading else { return }
            out.sample(1, labels: [
                ("address", status.address),
                ("model", reading.model ?? ""),
                ("software_version", reading.basicInfo.softwareVersion),
                ("manufacture_date", reading.basicInfo.manufactureDate?.description ?? ""),
                ("bank", status.bank),
                ("transport", status.transport.rawValue),
            ])
        },
    ]
}
