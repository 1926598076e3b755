// libFuzzer harness for the YAML config reader: `ConfigFile.parse` either returns batteries
// that satisfy every validation rule or throws a `ConfigError` that names a real line.
// Built and run by scripts/fuzz with Fuzz/Common (`check`, `yamlLineBreaks`).
import Basics
import BMSConfig

let defaults = ConfigFile.Defaults(adapter: "hci0", pollInterval: .seconds(10))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    // TextFile.read refuses non-UTF-8 files, so only valid text reaches the parser.
    guard let text = String(validating: bytes, as: UTF8.self) else { return -1 }
    checkDuration(text)
    let batteries: [BatteryConfig]
    do {
        // A `password_file:` in the input must never make the fuzzer read files from disk.
        batteries = try ConfigFile.parse(text, source: "fuzz.yml", defaults: defaults) { _ throws(ConfigError) in "123456" }
    } catch {
        // libyaml puts the end of the stream on the line after the last one, so an
        // "unexpected end" error may name that line; anything else must be in the file.
        let lastLine = yamlLineBreaks(in: text) + 1
        if let line = error.line {
            check((1...lastLine + 1).contains(line), "error names line \(line) of a \(lastLine)-line file: \(error)")
        }
        check(!error.message.isEmpty, "error without a message")
        _ = error.description
        return 0
    }
    check(!batteries.isEmpty, "parse returned no batteries")
    check(Set(batteries.map(\.name)).count == batteries.count, "duplicate battery names accepted")
    check(Set(batteries.map(\.address)).count == batteries.count, "duplicate addresses accepted")
    for battery in batteries {
        check(ConfigValidation.nameProblem(battery.name) == nil, "invalid name accepted: \(battery.name)")
        check(ConfigValidation.macAddress(battery.address) == battery.address, "address not normalised: \(battery.address)")
        check(ConfigValidation.isAdapterName(battery.adapter), "invalid adapter accepted: \(battery.adapter)")
        check(battery.bank.isEmpty || ConfigValidation.nameProblem(battery.bank) == nil, "invalid bank accepted: \(battery.bank)")
        check(ConfigValidation.pollIntervalProblem(battery.schedule.pollInterval) == nil, "poll interval out of range accepted")
        check(battery.schedule.requestTimeout > .zero && battery.schedule.requestTimeout < battery.schedule.pollInterval,
              "request timeout not below the poll interval")
    }
    return 0
}

/// A duration the validation accepts prints in a form that reads back as the same duration.
func checkDuration(_ text: String) {
    guard let duration = DurationText.parse(text), ConfigValidation.pollIntervalProblem(duration) == nil else { return }
    let formatted = DurationText.format(duration)
    check(readBack(formatted) == duration, "\(text) formats as \(formatted), which does not read back")
}

/// The format writes fractions of a second ("1.5s"), which the config syntax does not take;
/// spelled as milliseconds ("1s500ms") the text must read back exactly.
func readBack(_ formatted: String) -> Duration? {
    guard let dot = formatted.firstIndex(of: "."), formatted.hasSuffix("s") else { return DurationText.parse(formatted) }
    let fraction = formatted[formatted.index(after: dot)..<formatted.index(before: formatted.endIndex)]
    guard fraction.count <= 3 else { return nil }
    let milliseconds = fraction + String(repeating: "0", count: 3 - fraction.count)
    return DurationText.parse(String(formatted[..<dot]) + "s" + milliseconds + "ms")
}
