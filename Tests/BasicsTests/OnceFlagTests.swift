import Basics
import Testing

@Suite struct OnceFlagTests {
    /// Of many concurrent claimers exactly one wins: one report of a link loss, however many
    /// paths notice it at the same moment.
    @Test func exactlyOneOfManyConcurrentClaimsWins() async {
        let flag = OnceFlag()
        let winners = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 { group.addTask { flag.claim() } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
        #expect(!flag.claim())
    }
}
