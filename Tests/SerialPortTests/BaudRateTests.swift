import SerialPort
import Testing

@Suite struct BaudRateTests {
    @Test func acceptsTermiosRates() throws {
        #expect(try BaudRate(9600) == BaudRate.standard)
        #expect(try BaudRate(115200).bitsPerSecond == 115200)
    }

    @Test(arguments: [0, -9600, 9601, 14400, 250000])
    func refusesRatesWithoutAConstant(rate: Int) {
        #expect(throws: SerialPortError.invalidBaud(rate)) { try BaudRate(rate) }
        #expect(SerialPortError.invalidBaud(rate).description.contains("9600, 19200"))
    }
}
