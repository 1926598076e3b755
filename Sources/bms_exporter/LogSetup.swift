import LogFormat
import ArgumentParser
import Logging

/// Logs go to stderr, one line per event, which journald keeps under the unit's name.
enum LogSetup {
    static func bootstrap(level: Logger.Level, format: LogFormat) -> Logger {
        LoggingSystem.bootstrap { _ in PrometheusLogHandler(format: format, level: level) }
        var logger = Logger(label: "bms_exporter")
        logger.logLevel = level
        return logger
    }
}

extension LogFormat: ExpressibleByArgument {}
