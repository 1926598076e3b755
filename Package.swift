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
    ],
    targets: [
        .systemLibrary(
            name: "CDBus",
            pkgConfig: "dbus-1",
            providers: [.apt(["libdbus-1-dev"])]
        ),
        .target(name: "DBus", dependencies: ["CDBus"]),
        .target(name: "BlueZ", dependencies: ["DBus"]),
        .target(name: "JBD"),
        .target(
            name: "BMSExporter",
            dependencies: [
                "JBD", "BlueZ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "bms_exporter",
            dependencies: [
                "BMSExporter", "JBD",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Speed and memory figures (issue: performance); `scripts/benchmark` runs it in release mode.
        .executableTarget(
            name: "bms_benchmarks",
            dependencies: ["JBD", "BMSExporter", "FakeBlueZSupport"],
            path: "Benchmarks/bms_benchmarks"
        ),
        // Starts a private dbus-daemon with the fake BlueZ (Tests/FakeBlueZ) and drives it.
        .target(name: "FakeBlueZSupport", dependencies: ["DBus"], path: "Tests/Support/FakeBlueZSupport"),
        .testTarget(name: "JBDTests", dependencies: ["JBD"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DBusTests", dependencies: ["DBus"]),
        .testTarget(name: "BlueZTests", dependencies: ["BlueZ", "DBus", "FakeBlueZSupport"]),
        .testTarget(name: "BMSExporterTests", dependencies: ["BMSExporter", "FakeBlueZSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["JBD", "FakeBlueZSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
