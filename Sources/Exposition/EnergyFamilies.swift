import BatterySession

extension MetricFamilies {
    static let integrationNote = " Integrated by the exporter between consecutive good readings (trapezoid);"
        + " starts at 0 when the exporter starts."

    /// Counters the exporter integrates itself; present from a battery's first good reading on,
    /// and kept while it is silent, since what they counted stays true.
    static let energy: [MetricFamily] = [
        MetricFamily(name: "bms_charge_energy_joules_total", kind: .counter,
                     help: "Energy into the battery, V × I while the current is positive." + integrationNote) {
            status, _, out in
            if status.energy.previous != nil { out.sample(status.energy.chargeJoules) }
        },
        MetricFamily(name: "bms_discharge_energy_joules_total", kind: .counter,
                     help: "Energy out of the battery, V × |I| while the current is negative." + integrationNote) {
            status, _, out in
            if status.energy.previous != nil { out.sample(status.energy.dischargeJoules) }
        },
        MetricFamily(name: "bms_charge_ampere_hours_total", kind: .counter,
                     help: "Charge into the battery, in ampere-hours." + integrationNote) {
            status, _, out in
            if status.energy.previous != nil { out.sample(status.energy.chargeAmpereHours) }
        },
        MetricFamily(name: "bms_discharge_ampere_hours_total", kind: .counter,
                     help: "Charge out of the battery, in ampere-hours." + integrationNote) {
            status, _, out in
            if status.energy.previous != nil { out.sample(status.energy.dischargeAmpereHours) }
        },
        MetricFamily(name: "bms_integration_gaps_total", kind: .counter,
                     help: "Intervals between good readings left out of the energy and charge counters because they"
                        + " were longer than 3 poll intervals.") {
            status, _, out in
            if status.energy.previous != nil { out.sample(Double(status.energy.gaps)) }
        },
    ]
}
