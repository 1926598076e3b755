import Logging

/// Logs go to stderr, one line per event, which journald keeps under the unit's name.
enum LogSetup {
    static func bootstrap(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "bms_exporter")
        logger.logLevel = level
        return logger
    }
}
