/// What `bms_exporter_build_info` and `--version` report.
public enum BuildInfo {
    public static let version = "0.1.0"

    /// The commit the binary was built from; builds outside git leave it unknown.
    public static let revision = "unknown"

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

    /// The labels of `bms_exporter_build_info`.
    public struct Labels: Sendable {
        public let version: String
        public let revision: String
        public let swiftVersion: String
    }

    public static let labels = Labels(version: version, revision: revision, swiftVersion: swiftVersion)
}
