import Basics
import Testing

/// The one validator of Bluetooth addresses, for flags, the config file and BlueZ's objects.
@Suite struct BluetoothAddressTests {
    @Test func eitherCaseIsAcceptedAndKeptUpperCase() throws {
        let lower = try #require(BluetoothAddress("a4:c1:38:0f:34:5e"))
        #expect(lower.rawValue == "A4:C1:38:0F:34:5E")
        #expect(lower == BluetoothAddress("A4:C1:38:0F:34:5E"))
        #expect("\(lower)" == "A4:C1:38:0F:34:5E")
    }

    /// `Character.isHexDigit` also takes fullwidth digits (U+FF10…); no adapter has such an address.
    @Test(arguments: [
        "", "A4:C1:38:12:34", "A4:C1:38:12:34:56:78", "A4-C1-38-12-34-56", "A4:C1:38:12:34:5G",
        "A4:C1:38:12:34:567", "A4:C1:38:12::56", " A4:C1:38:12:34:56", "\u{FF10}\u{FF10}:1A:2B:3C:4D:5E",
        "A4:C1:38:12:34:\u{FF41}6",
    ])
    func malformedAddressesAreRefused(_ text: String) {
        #expect(BluetoothAddress(text) == nil)
    }
}
