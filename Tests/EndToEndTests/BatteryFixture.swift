/// The battery values the `read` and serial end-to-end tests put behind either transport: every
/// field distinct from its neighbours and from the fake's defaults, so a mis-decoded or misplaced
/// value shows.
enum BatteryFixture {
    static var distinctive: [String: Any] { [
        "cells_mv": [3401, 3402, 3398, 3405], "temps_c": [21.5, -3.5], "current_a": -12.34,
        "remaining_ah": 70.9, "nominal_ah": 109.91, "cycles": 17, "production_date": "2022-03-28",
        "balance_bits": 0b1010, "protection_bits": 1, "software_version": "2.6", "rsoc": 64, "fet_bits": 1,
        "model": "JBD-E2E-4S", "counters": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ] }
}
