import Basics
import BatterySession

/// The page at `/`: what this is, where the metrics are, and each battery at a glance.
public enum LandingPage {
    public static func render(
        _ statuses: [BatteryStatus], telemetryPath: String, now: Double, uptime: Double? = nil, adapters: [AdapterStatus] = []
    ) -> String {
        var rows = ""
        for status in statuses {
            let reading = status.freshReading(at: now, uptime: uptime)
            let up = status.isUp(at: now, uptime: uptime)
            let soc = reading.map { "\($0.basicInfo.stateOfChargePercent) %" } ?? "–"
            let voltage = reading.map { SampleWriter.format($0.basicInfo.voltageVolts) + " V" } ?? "–"
            let current = reading.map { SampleWriter.format($0.basicInfo.currentAmperes) + " A" } ?? "–"
            let age = status.reading.map { _ in
                "\(DurationText.format(.seconds(max(0, status.age(at: now, uptime: uptime).rounded())))) ago"
            } ?? "never"
            rows += "<tr><td>\(escape(status.name))</td><td>\(escape(status.address))</td>"
                + "<td class=\"\(up ? "up" : "down")\">\(up ? "up" : "down")</td>"
                + "<td>\(soc)</td><td>\(voltage)</td><td>\(current)</td><td>\(age)</td></tr>\n"
        }
        let path = escape(telemetryPath)
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>bms_exporter</title>
        <style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left}\
        .up{color:#187a2f}.down{color:#b3261e}</style></head>
        <body><h1>bms_exporter</h1>
        <p>Prometheus exporter for JBD smart-BMS batteries over Bluetooth LE, version \(escape(BuildInfo.version)).</p>
        <ul><li><a href="\(path)">Metrics</a></li><li><a href="/-/healthy">Health</a></li></ul>
        <table><tr><th>Battery</th><th>Address</th><th>State</th><th>SoC</th><th>Voltage</th><th>Current</th>\
        <th>Last reading</th></tr>
        \(rows)</table>\(adapterTable(adapters, statuses))</body></html>

        """
    }

    /// Each Bluetooth adapter: whether it is up, links held, mean connect-queue wait, resets.
    static func adapterTable(_ adapters: [AdapterStatus], _ statuses: [BatteryStatus]) -> String {
        guard !adapters.isEmpty else { return "" }
        var rows = ""
        for adapter in adapters {
            let links = statuses.filter { $0.adapter == adapter.name && $0.connected }.count
            let batteries = statuses.filter { $0.adapter == adapter.name }.count
            let wait = adapter.connectTurns == 0 ? "–"
                : DurationText.format(.seconds(adapter.connectWaitSeconds / Double(adapter.connectTurns)))
            rows += "<tr><td>\(escape(adapter.name))</td>"
                + "<td class=\"\(adapter.up ? "up" : "down")\">\(adapter.up ? "up" : "down")</td>"
                + "<td>\(links) of \(batteries)</td><td>\(wait)</td><td>\(adapter.resets)</td></tr>\n"
        }
        return "\n<h2>Bluetooth adapters</h2>\n<table><tr><th>Adapter</th><th>State</th><th>Links held</th>"
            + "<th>Mean connect wait</th><th>Resets</th></tr>\n\(rows)</table>"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
