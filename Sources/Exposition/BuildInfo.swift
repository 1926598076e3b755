/// What `bms_exporter_build_info` and `--version` report.
public enum BuildInfo {
    /// The top-level VERSION file, stamped by Plugins/BuildRevision.
    public static let version = buildVersion

    /// The commit the binary was built from ("-dirty" with uncommitted changes), stamped by
    /// Plugins/BuildRevision; builds outside git leave it "unknown".
    public static let revision = buildRevision

    public static let swiftVersion: String = {
        #if compiler(>=6.4)
        "6.4+"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }()

    /// What `--version` prints: enough to match a binary to its source, as `build_info` does.
    public static let versionLine = "\(version) (revision \(revision), Swift \(swiftVersion))"

    /// The labels of `bms_exporter_build_info`.
    public struct Labels: Sendable {
        public let version: String
        public let revision: String
        public let swiftVersion: String
    }

    public static let labels = Labels(version: version, revision: revision, swiftVersion: swiftVersion)
}
