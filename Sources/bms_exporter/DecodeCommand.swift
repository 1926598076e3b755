import ArgumentParser
import CLIOutput

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode captured JBD reply frames and print one JSON object per frame.",
        discussion: "Each argument is one frame in hex; spaces are allowed inside it."
    )

    @Argument(help: "Frames in hex, e.g. dd0400080ce50ce30ce50ce8fc3377")
    var frames: [String]

    func validate() throws {
        guard !frames.isEmpty else { throw ValidationError("give at least one frame in hex") }
    }

    func run() throws {
        var failures = 0
        for (index, argument) in frames.enumerated() {
            switch FrameDecoding.decode(hex: argument) {
            case let .success(json):
                print(json.serialized)
            case let .failure(failure):
                failures += 1
                StandardError.write("bms_exporter decode: frame \(index + 1): \(failure)\n")
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }
}
