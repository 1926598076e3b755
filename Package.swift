// swift-tools-version:6.1
import PackageDescription

// Strict concurrency is the default in the Swift 6 language mode; warnings are errors
// in CI through `-warnings-as-errors` passed by scripts/test, not here, so that a
// newer compiler's new warning cannot break a user's build from source.
let package = Package(
    name: "bms_exporter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bms_exporter", targets: ["bms_exporter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // No default traits: they pull in full Foundation and ICU (~8 MB of resident code).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        // --web.config.file: TLS (NIOSSL builds BoringSSL), bcrypt for basic auth, base64.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        // NIOCore's IOError: a failed listen socket is reported by address (ListenFailure); and the
        // connection guard's channel handler.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CDBus",
            pkgConfig: "dbus-1",
            providers: [.apt(["libdbus-1-dev"])]
        ),
        .target(name: "DBus", dependencies: ["CDBus"]),
        .target(name: "JBD"),
        // A raw, exclusively held tty for JBD boards on a USB-UART or RS485 adapter (Glibc only).
        .target(name: "SerialPort"),
        // Small helpers every layer shares, one of each: durations, Bluetooth addresses.
        .target(name: "Basics"),
        .target(name: "BlueZ", dependencies: ["DBus", "Basics"]),
        // The battery session core: link protocol and errors, request/reply, polling, status,
        // simulation. Knows no transport, HTTP or config file.
        .target(
            name: "BatterySession",
            dependencies: ["JBD", "Basics", .product(name: "Logging", package: "swift-log")]
        ),
        // BLELink and scan over BlueZ; maps BlueZ errors to LinkError.
        .target(name: "BluetoothLink", dependencies: ["BatterySession", "BlueZ", "JBD", "Basics"]),
        // SerialLink over SerialPort, for boards on a USB-UART or RS485 adapter; maps SerialPortError to LinkError once.
        .target(name: "SerialLink", dependencies: ["BatterySession", "SerialPort", "JBD", "Basics"]),
        // The config file, flag resolution and their validation: no HTTP or Bluetooth, so it can be fuzzed alone.
        .target(
            name: "BMSConfig",
            dependencies: [
                "Basics", "BatterySession", "SerialPort",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The web config file (`--web.config.file`) read and checked as text: no TLS library or
        // HTTP server, so its parser can be fuzzed alone like the config file.
        .target(name: "WebConfigFile", dependencies: ["BMSConfig"]),
        // Metric families, the text renderer and the landing page: no HTTP server.
        .target(name: "Exposition", dependencies: ["BatterySession", "JBD", "Basics"], plugins: ["BuildRevision"]),
        // The HTTP server: responders, TLS, basic auth, the web config's TLS material, and `serve`'s service group.
        .target(
            name: "WebServer",
            dependencies: [
                "BatterySession", "Exposition", "BMSConfig", "WebConfigFile", "Basics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // SIGHUP reloads the config (UnixSignalsSequence).
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ]
        ),
        // Log lines in Prometheus' logfmt or JSON (`--log.format`): a swift-log handler.
        .target(name: "LogFormat", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // What `decode` and `read` print: JSON and text of frames and readings.
        .target(name: "CLIOutput", dependencies: ["BatterySession", "JBD"]),
        // Stamps the git revision into `bms_exporter_build_info` at build time.
        .plugin(name: "BuildRevision", capability: .buildTool()),
        .executableTarget(
            name: "bms_exporter",
            dependencies: [
                "BatterySession", "BluetoothLink", "BMSConfig", "Exposition", "WebServer", "CLIOutput",
                "BlueZ", "Basics", "LogFormat", "SerialLink", "SerialPort",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Speed and memory figures (issue: performance); `scripts/benchmark` runs it in release mode.
        .executableTarget(
            name: "bms_benchmarks",
            dependencies: [
                "JBD", "BatterySession", "BluetoothLink", "Exposition", "BMSConfig", "BlueZ", "Basics", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/bms_benchmarks"
        ),
        // Test support shared by the test targets and the benchmarks: starts a private
        // dbus-daemon with the fake BlueZ (Tests/FakeBlueZ) and drives it, spawns child
        // processes, and runs the real `bms_exporter serve` on an ephemeral port.
        .target(name: "TestSupport", dependencies: ["DBus"], path: "Tests/TestSupport"),
        .testTarget(name: "JBDTests", dependencies: ["JBD", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DBusTests", dependencies: ["DBus", "TestSupport"]),
        .testTarget(name: "BlueZTests", dependencies: ["BlueZ", "DBus", "Basics", "TestSupport"]),
        .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
        .testTarget(name: "BatterySessionTests", dependencies: ["BatterySession", "JBD", "Basics", "TestSupport"]),
        .testTarget(
            name: "BluetoothLinkTests",
            dependencies: ["BluetoothLink", "BatterySession", "BlueZ", "Basics", "TestSupport"]
        ),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition", "BatterySession", "JBD", "TestSupport"]),
        .testTarget(name: "WebServerTests", dependencies: ["WebServer", "WebConfigFile", "BatterySession", "BMSConfig", "TestSupport"]),
        .testTarget(name: "WebConfigFileTests", dependencies: ["WebConfigFile", "BMSConfig"]),
        .testTarget(name: "BMSConfigTests", dependencies: ["BMSConfig", "BatterySession", "Basics", "TestSupport"]),
        .testTarget(name: "LogFormatTests", dependencies: ["LogFormat", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CLIOutputTests", dependencies: ["CLIOutput", "JBD", "BatterySession"]),
        .testTarget(name: "EndToEndTests", dependencies: ["JBD", "TestSupport"]),
        // Runs against the fake serial BMS (Tests/FakeSerial) on a real pseudo-terminal.
        .testTarget(name: "SerialPortTests", dependencies: ["SerialPort", "TestSupport"]),
        .testTarget(name: "SerialLinkTests", dependencies: ["SerialLink", "SerialPort", "BatterySession", "JBD", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
