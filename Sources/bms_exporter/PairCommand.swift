import ArgumentParser
import BMSConfig
import Basics
import BluetoothLink
import BlueZ
import CLIOutput

/// Pairs a module that demands BLE passkey pairing (newest LIONTRON modules echo every request
/// until paired), without bluetoothctl's interactive agent. `serve` never pairs by itself.
struct PairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pair",
        abstract: "Pair with a battery that needs its 6-digit PIN, trust it, and exit.",
        discussion: """
            Registers a one-shot BlueZ agent that answers the passkey request with the PIN from \
            --pin-file, pairs, sets Trusted, and disconnects. Exits 0 when paired or already paired, \
            1 with the cause otherwise. The PIN is never printed.
            """
    )

    @Option(help: AddressOption.help)
    var address: String

    @Option(help: "File holding the battery's 6-digit PIN (keep it readable only by you).")
    var pinFile: String

    @OptionGroup var bluetooth: AdapterOption
    var adapter: String { bluetooth.adapter }

    @Option(help: "How long finding the battery and pairing may take, e.g. 60s.")
    var timeout = "60s"

    func validate() throws {
        try AddressOption.check(address)
        try bluetooth.check()
        _ = try TimeoutOption.parse(timeout, example: "60s")
    }

    func run() async throws {
        let pin: UInt32
        do {
            pin = try SecretFile.pin(pinFile)
        } catch {
            StandardError.write("bms_exporter pair: --pin-file \(error)\n")
            throw ExitCode(2)
        }
        if SecretFile.isWorldReadable(pinFile) {
            StandardError.write("bms_exporter pair: warning: \(pinFile) is readable by every user; chmod 600 it\n")
        }
        guard let address = BluetoothAddress(address) else { throw ExitCode(2) }
        let stack = BluetoothStack()
        let result: Result<PairingOutcome, PairingError>
        do throws(PairingError) {
            result = .success(try await stack.pair(
                address: address, adapterName: adapter, passkey: pin, filter: BLELink.discoveryFilter,
                timeout: DurationText.parse(timeout) ?? .seconds(60)))
        } catch {
            result = .failure(error)
        }
        await stack.close()
        switch result {
        case .success(.paired(askedForPasskey: true)):
            print("paired with \(address) and trusted it; `bms_exporter serve` can read it now")
        case .success(.paired(askedForPasskey: false)):
            print("paired with \(address) without a PIN and trusted it; this module did not need one")
        case .success(.alreadyPaired):
            print("""
                \(address) is already paired; nothing changed. If reads still fail with reason auth, the module \
                lost the bond: run `bluetoothctl remove \(address)` and pair again
                """)
        case .failure(let error):
            StandardError.write("bms_exporter pair: \(address): \(error)\n")
            // An adapter BlueZ does not know is a bad flag, like everywhere else.
            if case .bluez(.adapterMissing) = error { throw ExitCode(2) }
            throw ExitCode.failure
        }
    }
}
