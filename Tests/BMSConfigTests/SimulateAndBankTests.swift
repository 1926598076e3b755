import BatterySession
@testable import BMSConfig
import Testing

@Suite struct SimulateArgumentTests {
    @Test(arguments: [
        (["--simulate"], ["--simulate=normal"]),
        (["serve", "--simulate", "--poll.interval", "1s"], ["serve", "--simulate=normal", "--poll.interval", "1s"]),
        (["--simulate=silent-low", "--simulate.silence", "40"], ["--simulate=silent-low", "--simulate.silence", "40"]),
        (["--simulate", "discharge"], ["--simulate", "discharge"]),
        (["decode", "--", "--simulate"], ["decode", "--", "--simulate"]),
        (["--poll.interval", "1s"], ["--poll.interval", "1s"]),
    ] as [([String], [String])])
    func aBareSimulateGetsTheNormalScenario(arguments: [String], expected: [String]) {
        #expect(SimulateArgument.normalise(arguments) == expected)
    }

    @Test func scenariosResolveWithTheirSilence() throws {
        let plain = try ServeSettings.resolve(.init(simulate: true, scenario: "normal"))
        #expect(plain.simulation == Simulation(scenario: .normal, silencePolls: 60))
        let silent = try ServeSettings.resolve(.init(simulate: true, scenario: "silent-low", silencePolls: 40))
        #expect(silent.simulation == Simulation(scenario: .silentLow, silencePolls: 40))
        #expect(silent.batteries.map(\.name) == ["simulated"])
        for scenario in SimulationScenario.allCases {
            #expect(try ServeSettings.resolve(.init(simulate: true, scenario: scenario.rawValue)).simulation.scenario == scenario)
        }
    }

    @Test(arguments: [
        (ServeSettings.Flags(simulate: true, scenario: "flat"), "--simulate",
         "unknown scenario \"flat\"; choose one of normal, discharge, silent-low, imbalance, cold-charge, protection"),
        (ServeSettings.Flags(simulate: true, scenario: "discharge", silencePolls: 5), "--simulate.silence", "silent-low"),
        (ServeSettings.Flags(simulate: true, scenario: "silent-low", silencePolls: -1), "--simulate.silence", "between"),
    ] as [(ServeSettings.Flags, String, String)])
    func badScenariosNameTheFlag(flags: ServeSettings.Flags, source: String, problem: String) throws {
        let error = try #require(flagRefusal(flags))
        #expect(error.source == source && error.message.contains(problem), "\(error)")
    }
}

@Suite struct BankKeyTests {
    @Test func bankIsOptionalAndKeptAsWritten() throws {
        let yaml = """
        batteries:
          - name: house-1
            address: A4:C1:38:12:34:56
            bank: house
          - name: starter
            address: 70:3E:97:D1:C1:8C
        """
        let batteries = try ConfigFile.parse(yaml, source: "c.yml", defaults: .standard)
        #expect(batteries.map(\.bank) == ["house", ""])
    }

    @Test(arguments: [
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    bank: \"\"\n", 4, "bank name is empty"),
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    bank: \"a\\u202Eb\"\n", 4, "U+202E"),
        ("batteries:\n  - name: a\n    address: A4:C1:38:12:34:56\n    bank: [x]\n", 4, "bank"),
    ] as [(String, Int, String)])
    func badBanksNameTheirLine(yaml: String, line: Int, problem: String) throws {
        let error = try #require(configRefusal(yaml))
        #expect(error.line == line && error.message.contains(problem), "\(error)")
    }
}
