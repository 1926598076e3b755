@testable import BMSConfig
import Foundation
import TestSupport
import Testing

/// `--config.file` and `--web.config.file` are read by TextFile: anything but a regular file is
/// refused at once, naming the file, instead of blocking start-up or reading a device.
@Suite struct ConfigFileKindTests {
    /// A fresh directory for one test, removed afterwards.
    static func withDirectory(_ body: (String) throws -> Void) throws {
        try TestDirectory.with("bms-config-kind") { try body($0.path) }
    }

    static func refusal(_ path: String) -> ConfigError? {
        BMSConfigTests.refusal { () throws(ConfigError) in try TextFile.read(path) }
    }

    /// Before the fix, opening the FIFO waited for a writer that never came.
    @Test func fifoWithoutWriterIsRefusedAtOnce() throws {
        try Self.withDirectory { directory in
            let path = directory + "/config.yml"
            #expect(mkfifo(path, 0o600) == 0)
            let error = try #require(Self.refusal(path))
            #expect(error.source == path)
            #expect(error.description == "\(path): is a FIFO (named pipe), not a regular file; give the path of the YAML file itself")
        }
    }

    @Test func characterDeviceIsRefused() throws {
        let error = try #require(Self.refusal("/dev/null"))
        #expect(error.description.hasPrefix("/dev/null: is a character device, not a regular file"))
    }

    @Test func directoryIsRefused() throws {
        try Self.withDirectory { directory in
            let error = try #require(Self.refusal(directory))
            #expect(error.description.hasPrefix("\(directory): is a directory, not a regular file"))
        }
    }

    @Test func regularFileAndASymlinkToItAreRead() throws {
        try Self.withDirectory { directory in
            let path = directory + "/config.yml"
            let text = "batteries:\n  - name: Küche & Bad\n    address: A4:C1:38:12:34:56\n"
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            #expect(try TextFile.read(path) == text)
            try FileManager.default.createSymbolicLink(atPath: directory + "/link.yml", withDestinationPath: path)
            #expect(try TextFile.read(directory + "/link.yml") == text)
        }
    }

    @Test func missingOversizedAndBinaryFilesNameTheirProblem() throws {
        try Self.withDirectory { directory in
            #expect(Self.refusal(directory + "/absent.yml")?.message.hasPrefix("cannot open: No such file") == true)
            let large = directory + "/large.yml"
            try Data(count: TextFile.sizeLimit + 1).write(to: URL(fileURLWithPath: large))
            #expect(Self.refusal(large)?.message == "larger than 1 MiB; is this the right file?")
            let binary = directory + "/binary.yml"
            try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: binary))
            #expect(Self.refusal(binary)?.message == "not UTF-8 text")
        }
    }
}
