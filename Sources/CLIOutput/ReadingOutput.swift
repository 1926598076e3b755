import BatterySession
import JBD

/// How `bms_exporter read` prints one reading: the JSON contract, the original script's keys, or text.
public enum ReadingOutput {
    /// The JSON contract: every key of the 0x03, 0x04, 0x05 and 0xAA replies (`model` is null
    /// when the board does not answer 0x05; the counters are left out when it does not answer 0xAA).
    public static func json(_ reading: Reading) -> JSONValue {
        var fields = ReplyJSON.fields(.basicInfo(reading.basicInfo)) + ReplyJSON.fields(.cellVoltages(reading.cells))
        fields.append(.init("model", reading.model.map(JSONValue.string) ?? .null))
        if let counters = reading.protectionCounters {
            fields += ReplyJSON.fields(.protectionCounters(counters))
        }
        return .object(fields)
    }

    /// The original script's keys: `Vmain`, `Imain`, `RemainAh`, `NominalAh`, `SoC`
    /// (RemainAh / NominalAh × 100, two decimals), `Vcell1`…`VcellN`. A board reporting no
    /// nominal capacity gets no `SoC` key: the ratio does not exist, and 0 would read as empty.
    public static func seed(_ reading: Reading) -> JSONValue {
        let info = reading.basicInfo
        let nominal = info.nominalCapacityAmpereHours
        var fields: [JSONValue.JSONField] = [
            .init("Vmain", .number(info.voltageVolts)),
            .init("Imain", .number(info.currentAmperes)),
            .init("RemainAh", .number(info.remainingCapacityAmpereHours)),
            .init("NominalAh", .number(nominal)),
        ]
        if nominal > 0 {
            fields.append(.init("SoC", .number((info.remainingCapacityAmpereHours / nominal * 100 * 100).rounded() / 100)))
        }
        for (index, volts) in reading.cells.volts.enumerated() {
            fields.append(.init("Vcell\(index + 1)", .number(volts)))
        }
        return .object(fields)
    }

    /// A summary for a person, several lines.
    public static func text(_ reading: Reading, address: String) -> String {
        let info = reading.basicInfo
        let cells = reading.cells.volts
        let protections = info.activeProtections.map(\.name)
        let title = "Battery \(address)" + (reading.model.map { " (\($0))" } ?? "")
        let capacity = "\(fixed(info.remainingCapacityAmpereHours, 2)) of \(fixed(info.nominalCapacityAmpereHours, 2)) Ah"
        var cellLine = "  Cells (\(cells.count))   " + cells.map { fixed($0, 3) }.joined(separator: " ") + " V"
        if let high = cells.max(), let low = cells.min() {
            let spread = Int(((high - low) * 1000).rounded())
            cellLine += ", spread \(spread) mV"
        }
        let temperatures = info.temperaturesCelsius.map { fixed($0, 1) }.joined(separator: " ")
        let charge = info.chargeMosfetEnabled ? "on" : "off"
        let discharge = info.dischargeMosfetEnabled ? "on" : "off"
        let balancing = info.balancingCells.map(String.init).joined(separator: ", ")
        let made = info.manufactureDate.map { ", made \($0)" } ?? ""
        var lines: [String] = [title]
        lines.append("  Voltage     \(fixed(info.voltageVolts, 2)) V")
        lines.append("  Current     \(fixed(info.currentAmperes, 2)) A")
        lines.append("  Capacity    \(capacity), state of charge \(info.stateOfChargePercent) %")
        lines.append("  Cycles      \(info.chargeCycles)")
        lines.append(cellLine)
        lines.append("  Temperature " + (temperatures.isEmpty ? "no sensors" : temperatures + " °C"))
        lines.append("  MOSFETs     charge \(charge), discharge \(discharge)")
        lines.append("  Balancing   " + (balancing.isEmpty ? "none" : "cells " + balancing))
        lines.append("  Protection  " + (protections.isEmpty ? "none active" : protections.joined(separator: ", ")))
        lines.append("  Software    \(info.softwareVersion)\(made)")
        if let counters = reading.protectionCounters {
            let events = ProtectionCounters.order.compactMap { flag -> String? in
                guard let count = counters.counts[flag], count > 0 else { return nil }
                return "\(flag.name) \(count)"
            }
            lines.append("  Events      " + (events.isEmpty ? "none recorded" : events.joined(separator: ", ")))
        }
        return lines.joined(separator: "\n")
    }

    /// `value` with exactly `digits` decimals, without Foundation.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }
}
