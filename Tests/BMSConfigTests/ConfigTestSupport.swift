@testable import BMSConfig

extension ConfigFile.Defaults {
    /// What `serve` assumes when neither the file nor a flag says: adapter hci0, a poll every 10 s.
    static let standard = ConfigFile.Defaults(adapter: "hci0", pollInterval: .seconds(10))
}

/// The error `body` throws, or nil when it returns; for tests that check the error's source,
/// line and message rather than only that something was thrown.
func refusal<Result>(_ body: () throws(ConfigError) -> Result) -> ConfigError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Why the config file `yaml`, read as "c.yml" with the standard defaults, is refused; nil when it is not.
func configRefusal(_ yaml: String) -> ConfigError? {
    refusal { () throws(ConfigError) in try ConfigFile.document(yaml, source: "c.yml", defaults: .standard) }
}

/// Why `flags` do not resolve to serve settings; nil when they do.
func flagRefusal(_ flags: ServeSettings.Flags) -> ConfigError? {
    refusal { () throws(ConfigError) in try ServeSettings.resolve(flags) }
}
