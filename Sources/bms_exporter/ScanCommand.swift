import ArgumentParser
import BMSConfig
import Basics
import BatterySession
import BluetoothLink
import BlueZ
import CLIOutput

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "List nearby JBD batteries: address, RSSI, name.",
        discussion: "A battery that is connected (to this or another client) does not advertise and is not listed."
    )

    @OptionGroup var bluetooth: AdapterOption
    var adapter: String { bluetooth.adapter }

    @Option(help: "How long to scan, e.g. 10s.")
    var timeout = "10s"

    func validate() throws {
        try bluetooth.check()
        _ = try TimeoutOption.parse(timeout, example: "10s")
    }

    func run() async throws {
        let stack = BluetoothStack()
        let result: Result<[BLEScan.Battery], LinkError>
        do throws(LinkError) {
            result = .success(try await BLEScan.batteries(
                stack: stack, adapter: adapter, duration: DurationText.parse(timeout) ?? .seconds(10)))
        } catch {
            result = .failure(error)
        }
        await stack.close()
        switch result {
        case .success(let batteries):
            if batteries.isEmpty { StandardError.write("bms_exporter scan: no JBD batteries seen within \(DurationText.format(DurationText.parse(timeout) ?? .seconds(10)))\n") }
            for battery in batteries {
                let rssi = battery.rssi.map { "\($0) dBm" } ?? "? dBm"
                print("\(battery.address)  \(rssi)  \(battery.name ?? "(no name)")")
            }
        case .failure(let failure):
            StandardError.write("bms_exporter scan: \(failure)\n")
            throw ExitCode.failure
        }
    }
}
