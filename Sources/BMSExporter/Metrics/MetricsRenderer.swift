import JBD

/// Renders the Prometheus text exposition (format 0.0.4) of a set of battery statuses.
///
/// A pure function of its input: the same statuses and clock give the same bytes. Every
/// family keeps its samples together, in configuration order of the batteries.
public enum MetricsRenderer {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ statuses: [BatteryStatus], now: Double, buildInfo: BuildInfo.Labels = BuildInfo.labels) -> String {
        var output = ""
        output.reserveCapacity(1024 + statuses.count * 6000)
        let fresh = statuses.map { $0.freshReading(at: now) }
        for family in MetricFamilies.all {
            var familyText = ""
            for (status, reading) in zip(statuses, fresh) {
                var writer = SampleWriter(text: familyText, family: family.name, battery: status.name)
                family.samples(status, reading, &writer)
                familyText = writer.text
            }
            guard !familyText.isEmpty else { continue }
            appendHeader(name: family.name, kind: family.kind, help: family.help, to: &output)
            output += familyText
        }
        appendHeader(name: "bms_exporter_build_info", kind: .gauge, help: MetricFamilies.buildInfoHelp, to: &output)
        output += "bms_exporter_build_info{version=\"" + LabelValue.escape(buildInfo.version)
            + "\",revision=\"" + LabelValue.escape(buildInfo.revision)
            + "\",swift_version=\"" + LabelValue.escape(buildInfo.swiftVersion) + "\"} 1\n"
        return output
    }

    private static func appendHeader(name: String, kind: MetricFamily.Kind, help: String, to output: inout String) {
        output += "# HELP " + name + " " + LabelValue.escapeHelp(help) + "\n"
        output += "# TYPE " + name + " " + kind.rawValue + "\n"
    }
}
