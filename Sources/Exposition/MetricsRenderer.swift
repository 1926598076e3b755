import BatterySession
import JBD

/// Renders the Prometheus text exposition (format 0.0.4) of a set of battery statuses.
///
/// A pure function of its input: the same statuses and clock give the same bytes. Every
/// family keeps its samples together, in configuration order of the batteries.
public enum MetricsRenderer {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// `process` adds the exporter's own `process_*` families (`ProcessCollector.snapshot()`),
    /// `adapters` the `bms_adapter_*` families of the Bluetooth adapters in use.
    public static func render(
        _ statuses: [BatteryStatus], now: Double, uptime: Double? = nil, buildInfo: BuildInfo.Labels = BuildInfo.labels,
        process: ProcessSnapshot? = nil, adapters: [AdapterStatus] = []
    ) -> String {
        let fresh = statuses.map { $0.freshReading(at: now, uptime: uptime) }
        let batteryLabels = statuses.map { "battery=\"" + LabelValue.escape($0.name) + "\"" }
        var writer = SampleWriter(capacity: 4096 + statuses.count * 6000)
        for family in MetricFamilies.all {
            let beforeHeader = writer.mark
            writer.append(family.header)
            let afterHeader = writer.mark
            for index in statuses.indices {
                writer.start(family: family.name, batteryLabel: batteryLabels[index])
                family.samples(statuses[index], fresh[index], &writer)
            }
            // A family without samples leaves no header either.
            if writer.mark == afterHeader { writer.rollBack(to: beforeHeader) }
        }
        writer.append(AdapterFamilies.exposition(adapters, batteries: statuses))
        writer.append(buildInfoHeader + "bms_exporter_build_info{version=\"" + LabelValue.escape(buildInfo.version)
            + "\",revision=\"" + LabelValue.escape(buildInfo.revision)
            + "\",swift_version=\"" + LabelValue.escape(buildInfo.swiftVersion) + "\"} 1\n")
        if let process { writer.append(process.exposition()) }
        return writer.text
    }

    private static let buildInfoHeader = MetricFamily.header(
        name: "bms_exporter_build_info", kind: .gauge, help: MetricFamilies.buildInfoHelp
    )
}
