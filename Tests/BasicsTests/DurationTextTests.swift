import Basics
import Testing

/// The one duration format: what flags and the config file accept, and what logs, errors and
/// the landing page print.
@Suite struct DurationTextTests {
    @Test func parsesGoDurationsAndPrintsTheOneForm() {
        #expect(DurationText.parse("10s") == .seconds(10))
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("1m30s") == .seconds(90))
        #expect(DurationText.parse("2h") == .seconds(7200))
        for bad in ["", "10", "s", "1d", "-1s", "1.5s", "10 s x"] { #expect(DurationText.parse(bad) == nil, "\(bad)") }
        #expect(DurationText.format(.seconds(90)) == "1m30s")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
        #expect(DurationText.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationText.format(.milliseconds(60_050)) == "1m0.05s")
        #expect(DurationText.format(.seconds(3600)) == "1h")
        #expect(DurationText.format(.zero) == "0s")
        #expect(DurationText.format(.seconds(Int64.max)) == "9000000000000000000s")
    }

    /// Every printed duration without a fraction of a second reads back as itself.
    @Test(arguments: [Duration.milliseconds(250), .seconds(1), .seconds(90), .seconds(3600), .seconds(3725), .milliseconds(999)])
    func printedWholeDurationsParseBack(_ duration: Duration) {
        #expect(DurationText.parse(DurationText.format(duration)) == duration)
    }
}
