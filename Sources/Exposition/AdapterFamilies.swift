import BatterySession

/// The `bms_adapter_*` families: one series per Bluetooth adapter in use, labelled `adapter`.
/// An exporter without Bluetooth batteries has no adapters and shows none of them.
enum AdapterFamilies {
    static let wait = "bms_adapter_connect_wait_seconds"

    /// The families in exposition order; `batteries` give the links held (their `connected`).
    static func exposition(_ adapters: [AdapterStatus], batteries: [BatteryStatus]) -> String {
        guard !adapters.isEmpty else { return "" }
        let labels = adapters.map { "{adapter=\"" + LabelValue.escape($0.name) + "\"} " }
        func family(_ name: String, _ kind: MetricFamily.Kind, _ help: String, _ value: (AdapterStatus) -> Double) -> String {
            var text = MetricFamily.header(name: name, kind: kind, help: help)
            for (adapter, label) in zip(adapters, labels) {
                text += name + label + SampleWriter.format(value(adapter)) + "\n"
            }
            return text
        }
        let links = Dictionary(grouping: batteries.filter { $0.connected && $0.adapter != nil }, by: { $0.adapter! })
        var text = family("bms_adapter_up", .gauge, "1 when the Bluetooth adapter is present in BlueZ and powered, else 0.") {
            $0.up ? 1 : 0
        }
        text += family("bms_adapter_connections", .gauge, "Bluetooth links to batteries the exporter holds on the adapter now.") {
            Double(links[$0.name]?.count ?? 0)
        }
        text += MetricFamily.header(
            name: wait, kind: .summary,
            help: "Time connects waited for their turn in the adapter's queue (one connect at a time per adapter).")
        for (adapter, label) in zip(adapters, labels) {
            text += wait + "_sum" + label + SampleWriter.format(adapter.connectWaitSeconds) + "\n"
            text += wait + "_count" + label + SampleWriter.format(Double(adapter.connectTurns)) + "\n"
        }
        text += family("bms_adapter_resets_total", .counter,
                       "Times the exporter powered the adapter off and on to recover it (--bluez.power-cycle-after).") {
            Double($0.resets)
        }
        return text
    }
}
