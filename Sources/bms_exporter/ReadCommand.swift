import ArgumentParser
import BMSConfig
import Basics
import BatterySession
import BluetoothLink
import BlueZ
import CLIOutput
import SerialLink
import SerialPort

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Connect to one battery, read it once, print the reading and disconnect.",
        discussion: "Exits non-zero with a message on stderr naming what failed (never an empty object)."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, seed, text
    }

    @Option(help: AddressOption.help)
    var address: String?

    @Option(help: "Or the serial device the battery is wired to, e.g. /dev/serial/by-id/… or /dev/ttyUSB0.")
    var device: String?

    @Option(help: "Line speed for --device.")
    var baud = 9600

    @OptionGroup var bluetooth: AdapterOption
    var adapter: String { bluetooth.adapter }

    @Option(help: "json: the exporter's JSON keys; seed: the original script's keys; text: a summary.")
    var format = Format.json

    @Option(help: "How long the whole read may take (waiting for bluetoothd, connecting, reading, disconnecting), e.g. 30s.")
    var timeout = "30s"

    @Option(help: "File holding the module password (FF AA modules with a password set in the vendor app).")
    var passwordFile: String?

    func validate() throws {
        switch (address, device) {
        case (nil, nil): throw ValidationError("give --address MAC (Bluetooth) or --device PATH (serial line)")
        case (_?, _?): throw ValidationError("give only one of --address and --device")
        case (let address?, nil):
            try AddressOption.check(address)
        case (nil, let device?):
            if let problem = ConfigValidation.devicePathProblem(device) {
                throw ValidationError("--device \(device.debugDescription) \(problem)")
            }
            do { _ = try BaudRate(baud) } catch { throw ValidationError("--baud: \(error)") }
            // The password exchange is a Bluetooth module's; a board on a serial line has none.
            if passwordFile != nil {
                throw ValidationError("--password-file goes with --address only; a serial line has no password")
            }
        }
        try bluetooth.check()
        _ = try TimeoutOption.parse(timeout, example: "30s or 1m30s")
    }

    func run() async throws {
        let timeout = DurationText.parse(self.timeout) ?? .seconds(30)
        // The disconnect runs after the read and has to fit in --timeout too.
        let deadline = ContinuousClock.now + timeout - min(.seconds(2), timeout / 4)
        let address: String
        let result: Result<Reading, PollFailure>
        if let device {
            address = device
            let link = SerialLink(path: device, baud: (try? BaudRate(baud)) ?? .standard, replyWindow: .seconds(1))
            result = await Self.read(link, unlock: nil, deadline: deadline)
        } else {
            address = ConfigValidation.macAddress(self.address ?? "") ?? self.address ?? ""
            var unlock: ModuleUnlock?
            if let passwordFile {
                do {
                    unlock = try ConfigValidation.unlock(passwordFile: passwordFile, address: address, source: "--password-file")
                } catch {
                    StandardError.write("bms_exporter read: \(error)\n")
                    throw ExitCode(2)
                }
            }
            let stack = BluetoothStack()
            await BlueZStartup.wait(for: adapter, on: stack, until: deadline)
            result = await Self.read(BLELink(stack: stack, address: address, adapter: adapter), unlock: unlock, deadline: deadline)
            await stack.close()
        }
        switch result {
        case .success(let reading):
            switch format {
            case .json: print(ReadingOutput.json(reading).serialized)
            case .seed: print(ReadingOutput.seed(reading).serialized)
            case .text: print(ReadingOutput.text(reading, address: address))
            }
        case .failure(let failure):
            let failure = failure.naming(address: address)
            StandardError.write("bms_exporter read: \(address): \(failure.message) (\(failure.reason.rawValue))\n")
            throw ExitCode.failure
        }
    }

    private static func read(
        _ link: any BMSLink, unlock: ModuleUnlock?, deadline: ContinuousClock.Instant
    ) async -> Result<Reading, PollFailure> {
        do throws(PollFailure) {
            let connectTimeout = max(.milliseconds(1), ContinuousClock.now.duration(to: deadline))
            return .success(try await OneShotRead.read(
                link: link, connectTimeout: connectTimeout, unlock: unlock, deadline: deadline))
        } catch {
            return .failure(error)
        }
    }
}
