import JBD

/// The JSON contract's keys for each kind of reply: metric names without `bms_`, same units.
public enum ReplyJSON {
    /// `decode`'s object for one frame: `register`, `status`, then the decoded fields.
    public static func frameObject(_ reply: Reply) -> JSONValue {
        var fields: [JSONValue.JSONField] = [
            .init("register", .string(hexByte(reply.register))),
        ]
        switch reply {
        case let .error(_, status):
            fields.append(.init("status", .integer(Int(status.rawValue))))
            fields.append(.init("error", .string(status.description)))
        default:
            fields.append(.init("status", .integer(0)))
            fields.append(contentsOf: self.fields(reply))
        }
        return .object(fields)
    }

    /// The decoded fields of a successful reply; none for an error reply.
    public static func fields(_ reply: Reply) -> [JSONValue.JSONField] {
        switch reply {
        case let .basicInfo(info): basicInfoFields(info)
        case let .cellVoltages(cells): [.init("cell_voltage_volts", .array(cells.volts.map(JSONValue.number)))]
        case let .hardwareVersion(model): [.init("model", .string(model))]
        case let .protectionCounters(counters): protectionCounterFields(counters)
        case .error: []
        }
    }

    static func basicInfoFields(_ info: BasicInfo) -> [JSONValue.JSONField] {
        var fields: [JSONValue.JSONField] = [
            .init("voltage_volts", .number(info.voltageVolts)),
            .init("current_amperes", .number(info.currentAmperes)),
            .init("remaining_capacity_ampere_hours", .number(info.remainingCapacityAmpereHours)),
            .init("nominal_capacity_ampere_hours", .number(info.nominalCapacityAmpereHours)),
            .init("state_of_charge_ratio", .number(Double(info.stateOfChargePercent) / 100)),
            .init("charge_cycles", .integer(info.chargeCycles)),
            .init("cell_count", .integer(info.cellCount)),
            .init("temperature_celsius", .array(info.temperaturesCelsius.map(JSONValue.number))),
            .init("protection_active", .array(info.activeProtections.map { .string($0.name) })),
            .init("cell_balancing", .array(info.balancingCells.map(JSONValue.integer))),
            .init("mosfet_enabled", .object([
                .init("charge", .bool(info.chargeMosfetEnabled)),
                .init("discharge", .bool(info.dischargeMosfetEnabled)),
            ])),
            .init("software_version", .string(info.softwareVersion)),
            .init("manufacture_date", info.manufactureDate.map { .string($0.description) } ?? .null),
        ]
        if let v11 = info.v11 {
            fields += [
                .init("full_charge_capacity_ampere_hours", .number(v11.fullChargeCapacityAmpereHours)),
                .init("alarm_active", .array(v11.activeAlarms.map { .string($0.name) })),
                .init("humidity_ratio", .number(Double(v11.humidityPercent) / 100)),
                .init("balance_current_amperes", .number(v11.balanceCurrentAmperes)),
            ]
        }
        return fields
    }

    static func protectionCounterFields(_ counters: ProtectionCounters) -> [JSONValue.JSONField] {
        let events = ProtectionCounters.order.map { flag in
            JSONValue.JSONField(flag.name, .integer(counters.counts[flag] ?? 0))
        }
        var fields: [JSONValue.JSONField] = [.init("protection_events_total", .object(events))]
        if let restarts = counters.systemRestarts {
            fields.append(.init("system_restarts_total", .integer(restarts)))
        }
        return fields
    }
}
