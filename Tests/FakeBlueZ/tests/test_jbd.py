"""The BMS encoder must reproduce real JBD frames byte for byte."""

import json
import os
import unittest

from fakebluez import jbd

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "jbd-frames.json")


def real_frame(hex_prefix):
    with open(FIXTURES) as f:
        frames = json.load(f)
    matches = [f["hex"] for f in frames if f["hex"].startswith(hex_prefix)]
    assert len(matches) == 1, (hex_prefix, matches)
    return matches[0]


# States that describe each real capture in engineering units.
BASIC_INFO_CASES = {
    # LIONTRON LX 12.8 V 100 Ah: the encoder defaults.
    "dd03001b0528": {},
    # JBD protocol V4 document, 15 cells, 2 NTC.
    "dd03001b1700": dict(voltage_v=58.88, current_a=0, remaining_ah=7.20, nominal_ah=10.00,
                         cycles=0, production_date="2016-03-24", software_version="1.0",
                         rsoc=72, fet_bits=3, cells_mv=[3300] * 15, temps_c=[20.3, 21.5]),
    # V11 document, 17 cells, 4 NTC, discharging.
    "dd03001f19df": dict(voltage_v=66.23, current_a=-20.12, remaining_ah=34.93, nominal_ah=40.00,
                         cycles=2, production_date=0x2491, software_version=0x12, rsoc=87,
                         fet_bits=3, cells_mv=[3900] * 17, temps_c=[23.7, 25.4, 23.5, 23.6]),
    # JBD-SP04S034 real capture, 3 NTC.
    "dd03001d0618": dict(voltage_v=15.60, current_a=0, remaining_ah=4.98, nominal_ah=5.00,
                         cycles=0, production_date=0x2C7C, software_version="8.0", rsoc=100,
                         fet_bits=3, temps_c=[22.4, 22.3, 21.7]),
    # ECO-WORTHY DP04S007 with the 9-byte V11 extension, 1 NTC.
    "dd030022055f": dict(voltage_v=13.75, current_a=0, remaining_ah=191.67, nominal_ah=200.00,
                         cycles=2, production_date=0x2D14, software_version="2.3", rsoc=96,
                         fet_bits=3, temps_c=[26.2],
                         v11_extension=dict(humidity=0, alarm_bits=0, full_charge_ah=200.00,
                                            remaining_ah=191.67, balance_current_ma=0)),
    # Overkill 16S over UART, no NTC: the minimal 23-byte payload.
    "dd0300170000": dict(voltage_v=0, current_a=0, remaining_ah=0, nominal_ah=100.00, cycles=0,
                         production_date="2022-02-16", software_version="2.0", rsoc=0,
                         fet_bits=1, cell_count=16, temps_c=[]),
}


class EncoderMatchesRealFrames(unittest.TestCase):
    def test_basic_info(self):
        for prefix, values in BASIC_INFO_CASES.items():
            with self.subTest(frame=prefix):
                state = jbd.BMSState(values)
                self.assertEqual(state.reply(0x03).hex(), real_frame(prefix))

    def test_cells(self):
        cases = {
            "dd0400080ce5": [3301, 3299, 3301, 3304],
            "dd0400080f45": [3909, 3901, 3895, 3901],
            "dd04001e0f66": [3942, 3939, 3939, 3940, 3902, 3939, 3895, 3931, 3941, 3899,
                             3939, 3939, 3900, 3942, 3901],
            "dd0400200e10": [3600] * 15 + [0],
        }
        for prefix, cells in cases.items():
            with self.subTest(frame=prefix):
                self.assertEqual(jbd.BMSState({"cells_mv": cells}).reply(0x04).hex(),
                                 real_frame(prefix))

    def test_model(self):
        self.assertEqual(jbd.BMSState({"model": "0123456789"}).reply(0x05).hex(),
                         real_frame("dd05000a"))
        self.assertEqual(jbd.BMSState().reply(0x05).hex(), real_frame("dd0500194a42"))

    def test_model_error_frame(self):
        self.assertEqual(jbd.BMSState({"model": None}).reply(0x05).hex(),
                         real_frame("dd058000"))

    def test_counters(self):
        counters = [0, 0, 0, 122, 2, 0, 0, 0, 0, 0, 0, 1]
        self.assertEqual(jbd.BMSState({"counters": counters}).reply(0xAA).hex(),
                         real_frame("ddaa0018"))

    def test_checksum_of_worked_example(self):
        body = bytes.fromhex(real_frame("dd03001b0528"))[2:-3]
        self.assertEqual(jbd.checksum(body), 0xFC39)

    def test_requests_are_the_documented_constants(self):
        for register in (0x03, 0x04, 0x05):
            self.assertEqual(jbd.request(register).hex(), real_frame(f"dda5{register:02x}"))
        self.assertEqual(set(jbd.ALLOWED_REQUESTS),
                         {jbd.request(r).hex() for r in (0x03, 0x04, 0x05, 0xAA)})


class BMSAnswers(unittest.TestCase):
    def test_allowed_reads(self):
        state = jbd.BMSState()
        self.assertEqual(jbd.answer(state, bytes.fromhex("dda50300fffd77")),
                         (0x03, state.reply(0x03)))
        self.assertEqual(jbd.answer(state, bytes.fromhex("dda5aa00ff5677")),
                         (0xAA, bytes.fromhex("ddaa8000ff8077")))

    def test_writes_get_error_and_change_nothing(self):
        state = jbd.BMSState()
        before = state.to_json()
        for payload in ("dd5a000256785ffe77",   # enter factory mode
                        "dd5ae1020002ff1b77",   # switch MOSFETs
                        "dd5a0a0000fff677",     # sleep
                        "ffaa1500",             # BLE module rename
                        "dda50600fffa77"):      # unknown read
            with self.subTest(payload=payload):
                register, reply = jbd.answer(state, bytes.fromhex(payload))
                self.assertEqual(reply[2], jbd.STATUS_UNKNOWN)
                self.assertEqual(reply, jbd.error_frame(register))
        self.assertEqual(state.to_json(), before)

    def test_error_frame_matches_real_clone_answer(self):
        self.assertEqual(jbd.error_frame(0x05).hex(), "dd058000ff8077")

    def test_v11_unit_bit_scales_current(self):
        frame = jbd.BMSState({"fet_bits": 0x83, "current_a": -12.3}).reply(0x03)
        self.assertEqual(int.from_bytes(frame[6:8], "big", signed=True), -123)

    def test_rejects_invalid_update_without_changing_state(self):
        state = jbd.BMSState()
        with self.assertRaises(ValueError):
            state.update({"counters": [1, 2, 3]})
        with self.assertRaises(ValueError):
            state.update({"no_such_field": 1})
        self.assertIsNone(state.values["counters"])


if __name__ == "__main__":
    unittest.main()
