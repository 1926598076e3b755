import BatterySession
@testable import BMSConfig
import Testing

@Suite struct SerialConfigTests {
    @Test func aDeviceInsteadOfAnAddress() throws {
        let yaml = """
        batteries:
          - name: house
            address: a4:c1:38:12:34:56
          - name: van
            device: /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0
          - name: shed
            device: /dev/ttyUSB1
            baud: 19200
        """
        let batteries = try ConfigFile.parse(yaml, source: "c.yml", defaults: .standard)
        #expect(batteries.map { $0.serial == nil } == [true, false, false])
        #expect(batteries[0].serial == nil)
        #expect(batteries[1].serial?.device == "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0")
        #expect(batteries[1].serial?.baud.bitsPerSecond == 9600)
        #expect(batteries[1].address == batteries[1].serial?.device)
        #expect(batteries[2].serial?.baud.bitsPerSecond == 19200)
    }

    @Test(arguments: [
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    device: /dev/ttyUSB0\n", 4, "both `address` and `device`"),
        ("batteries:\n  - name: a\n    keep_connected: true\n", 2, "without `address` (Bluetooth) or `device`"),
        ("batteries:\n  - name: a\n    device: ttyUSB0\n", 3, "not an absolute path"),
        ("batteries:\n  - name: a\n    device: /dev/ttyUSB0\n    baud: 12345\n", 4, "baud rate 12345 is not supported"),
        ("batteries:\n  - name: a\n    device: /dev/ttyUSB0\n    baud: fast\n", 4, "bad baud \"fast\""),
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    baud: 9600\n", 4, "applies to a serial `device` only"),
        ("batteries:\n  - name: a\n    device: /dev/ttyUSB0\n    adapter: hci1\n", 4, "applies to Bluetooth batteries only"),
        ("batteries:\n  - name: a\n    device: /dev/ttyUSB0\n    password_file: a.password\n", 4,
         "`password_file` applies to Bluetooth batteries only"),
        ("batteries:\n  - name: a\n    device: /dev/ttyUSB0\n  - name: b\n    device: /dev/ttyUSB0\n", 5, "device /dev/ttyUSB0 is listed twice"),
    ] as [(String, Int, String)])
    func problemsNameTheirLine(yaml: String, line: Int, problem: String) throws {
        let error = try #require(configRefusal(yaml))
        #expect(error.line == line && error.message.contains(problem), "\(error)")
    }

    @Test func singleSerialBatteryFromFlags() throws {
        let settings = try ServeSettings.resolve(.init(bmsName: "van", bmsDevice: "/dev/ttyACM0", bmsBaud: "115200"))
        #expect(settings.batteries.count == 1)
        #expect(settings.batteries[0].name == "van")
        #expect(settings.batteries[0].serial?.device == "/dev/ttyACM0")
        #expect(settings.batteries[0].serial?.baud.bitsPerSecond == 115200)
    }

    @Test(arguments: [
        (ServeSettings.Flags(bmsAddress: "A4:C1:38:12:34:56", bmsDevice: "/dev/ttyUSB0"), "serve", "use only one of"),
        (ServeSettings.Flags(bmsDevice: "ttyUSB0"), "--bms.device", "not an absolute path"),
        (ServeSettings.Flags(bmsDevice: "/dev/ttyUSB0", bmsBaud: "9601"), "--bms.baud", "not supported"),
        (ServeSettings.Flags(bmsAddress: "A4:C1:38:12:34:56", bmsBaud: "9600"), "--bms.baud", "applies to --bms.device only"),
        (ServeSettings.Flags(bmsPasswordFile: "a.password", bmsDevice: "/dev/ttyUSB0"), "--bms.password-file", "goes with --bms.address"),
    ])
    func flagProblemsNameTheFlag(flags: ServeSettings.Flags, source: String, problem: String) throws {
        let error = try #require(flagRefusal(flags))
        #expect(error.source == source && error.message.contains(problem), "\(error)")
    }
}
