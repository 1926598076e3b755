import Basics
import BatterySession

/// The page at `/`: what this is, where the metrics are, and each battery at a glance.
public enum LandingPage {
    public static func render(_ statuses: [BatteryStatus], telemetryPath: String, now: Double, uptime: Double? = nil) -> String {
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
        \(rows)</table></body></html>

        """
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
