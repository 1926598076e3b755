import Basics
import BatterySession
@testable import BMSConfig
import Testing

@Suite struct ConfigFileTests {
    @Test func designExampleParsesWithDefaultsApplied() throws {
        let yaml = """
        poll_interval: 10s          # default for every battery
        batteries:
          - name: house
            address: a4:c1:38:12:34:56
          - name: starter
            address: 70:3E:97:D1:C1:8C
            adapter: hci1
            keep_connected: false
            poll_interval: 30s
        """
        let batteries = try ConfigFile.parse(yaml, source: "c.yml", defaults: .standard)
        #expect(batteries.map(\.name) == ["house", "starter"])
        #expect(batteries[0].address == "A4:C1:38:12:34:56")
        #expect(batteries[0].adapter == "hci0")
        #expect(batteries[0].schedule == PollSchedule(pollInterval: .seconds(10)))
        #expect(batteries[1].adapter == "hci1")
        #expect(batteries[1].schedule == PollSchedule(pollInterval: .seconds(30), keepConnected: false))
    }

    @Test(arguments: [
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    colour: red\n", 4, "unknown key `colour`"),
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n  - name: b\n    address: a4:c1:38:12:34:56\n", 5, "listed twice"),
        ("batteries:\n  - address: A4:C1:38:12:34:56\n", 2, "without `name`"),
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    adapter: bt0\n", 4, "bad adapter"),
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    poll_interval: 2h\n", 4, "must be between"),
        ("batteries: []\n", 1, "non-empty list"),
        ("pollinterval: 5s\nbatteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n", 1, "unknown key `pollinterval`"),
        ("batteries:\n  - name: \"\"\n    address: A4:C1:38:12:34:56\n", 2, "is empty"),
    ] as [(String, Int, String)])
    func problemsNameTheirLine(yaml: String, line: Int, problem: String) throws {
        let error = try #require(configRefusal(yaml))
        #expect(error.line == line && error.message.contains(problem) && error.source == "c.yml", "\(error)")
    }
}

@Suite struct YAMLAliasTests {
    @Test func anchorsAndAliasesAreRefusedBeforeYamsSeesThem() throws {
        let bomb = """
        a: &a [x, x]
        b: &b [*a, *a]
        c: &c [*b, *b]
        batteries:
          - name: house
            address: A4:C1:38:12:34:56
        """
        let error = try #require(configRefusal(bomb))
        #expect(error.line == 1 && error.message.contains("aliases"), "\(error)")
        #expect(firstLine(of: .anchorOrAlias, in: "x: 1\ny: [1, *a]\n") == 2)
        #expect(firstLine(of: .anchorOrAlias, in: "? *k\n: v\n") == 1)
    }

    @Test func explicitComplexKeysAreRefused() {
        #expect(firstLine(of: .complexKey, in: "a: 1\n? - x\n  - y\n: 2\n") == 2)
        #expect(firstLine(of: .complexKey, in: "batteries:\n  - ? [a]\n    : b\n") == 2)
        #expect(firstLine(of: .complexKey, in: "name: \"why? not\"\nq: what?\nx: a ?b\n# ? c\n") == nil)
    }

    @Test func ampersandsAndAsterisksInsideValuesAreFine() {
        #expect(firstLine(of: .anchorOrAlias, in: "name: \"R&D *main*\"\nother: 'a *b'\nplain: R&D\n# *c &d\nx: 1 # *e\n") == nil)
        let yaml = "batteries:\n  - name: \"*house & co\"\n    address: A4:C1:38:12:34:56\n"
        #expect((try? ConfigFile.parse(yaml, source: "c.yml", defaults: .standard))?.first?.name == "*house & co")
    }
}

@Suite struct SmallParserTests {
    /// `Character.isHexDigit` takes fullwidth digits too; no adapter has such an address.
    @Test func bluetoothAddressesAreASCIIHexOnly() throws {
        #expect(ConfigValidation.macAddress("a4:c1:38:12:34:56") == "A4:C1:38:12:34:56")
        #expect(ConfigValidation.macAddress("\u{FF10}\u{FF10}:1A:2B:3C:4D:5E") == nil)
        #expect(ConfigValidation.macAddress("A4:C1:38:12:34:\u{FF41}6") == nil)
        #expect(throws: ConfigError.self) {
            _ = try ConfigFile.parse(
                "batteries:\n  - name: house\n    address: \u{FF10}\u{FF10}:1A:2B:3C:4D:5E\n", source: "c.yml",
                defaults: .standard)
        }
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(":9882") == ListenAddress("0.0.0.0:9882"))
        #expect(ListenAddress("127.0.0.1:0")?.port == 0)
        #expect(ListenAddress("[::1]:9882")?.host == "::1")
        for bad in ["localhost", "::1:80", "host:99999", "host:", "[::1]9882"] { #expect(ListenAddress(bad) == nil, "\(bad)") }
    }

    @Test func macAddresses() {
        #expect(ConfigValidation.macAddress("a4:c1:38:12:34:5f") == "A4:C1:38:12:34:5F")
        for bad in ["A4:C1:38:12:34", "A4-C1-38-12-34-56", "A4:C1:38:12:34:5G", "A4:C1:38:12:34:567"] {
            #expect(ConfigValidation.macAddress(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct PasswordFileTests {
    @Test func passwordFileIsReadBesideTheConfigAndKeptOutOfErrors() throws {
        let yaml = """
        batteries:
          - name: house
            address: 10:A5:62:32:75:36
            password_file: house.password
          - name: starter
            address: A4:C1:38:00:00:02
        """
        var asked: [String] = []
        let batteries = try ConfigFile.parse(yaml, source: "/etc/bms/c.yml", defaults: .standard) { path throws(ConfigError) in
            asked.append(path)
            return "123456\n"
        }
        #expect(asked == ["/etc/bms/house.password"])
        #expect(batteries[0].unlock != nil)
        #expect(batteries[1].unlock == nil)
        #expect(throws: ConfigError.self) {
            _ = try ConfigFile.parse(yaml, source: "c.yml", defaults: .standard) { _ throws(ConfigError) in "hunter2!x" }
        }
        do {
            _ = try ConfigFile.parse(yaml, source: "c.yml", defaults: .standard) { _ throws(ConfigError) in "hunter2!x" }
        } catch {
            #expect(error.description.hasPrefix("c.yml:4: password file house.password must hold exactly"))
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func passwordFileFlagGoesWithTheAddressOnly() throws {
        #expect(throws: ConfigError.self) {
            _ = try ServeSettings.resolve(.init(simulate: true, bmsPasswordFile: "/p"))
        }
        let settings = try ServeSettings.resolve(.init(bmsAddress: "10:A5:62:32:75:36", bmsPasswordFile: "/p")) { _ throws(ConfigError) in
            "123456"
        }
        #expect(settings.batteries.first?.unlock != nil)
    }
}

/// The line of the first construct of `kind` the config files refuse, if any.
private func firstLine(of kind: YAMLShapeCheck.Refusal, in text: String) -> Int? {
    YAMLShapeCheck.findings(in: text).first { $0.refusal == kind }?.line
}
