"""The fake as a client sees it: a real pty behind a symlink, driven over the control socket."""

import json
import os
import socket
import subprocess
import unittest

from fakeserial.jbdlink import jbd
from tests.harness import FakeLine, joined, open_client, quiet_for, read_for

BASIC = bytes.fromhex("dda50300fffd77")
CELLS = bytes.fromhex("dda50400fffc77")
CHECK_WRITE_LOG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))), "scripts", "check-write-log")


class FakeSerialTests(unittest.TestCase):
    def setUp(self):
        self.fake = FakeLine()
        self.addCleanup(self.fake.close)
        self.fd = open_client(self.fake.link)
        self.addCleanup(os.close, self.fd)

    def ask(self, request, count):
        os.write(self.fd, request)
        return read_for(self.fd, count)

    def test_link_points_at_the_slave_pty(self):
        state = self.fake.state()
        self.assertTrue(state["plugged"])
        self.assertTrue(state["slave"].startswith("/dev/pts/"))
        self.assertEqual(os.path.realpath(self.fake.link), state["slave"])

    def test_reads_are_answered_with_the_current_values(self):
        expected = jbd.BMSState().reply(0x03)
        self.assertEqual(joined(self.ask(BASIC, len(expected))), expected)
        self.assertEqual(self.fake.command(cmd="set_bms", bms={"cells_mv": [3500, 3510, 3520]}), {"ok": True})
        cells = jbd.BMSState({"cells_mv": [3500, 3510, 3520]}).reply(0x04)
        self.assertEqual(joined(self.ask(CELLS, len(cells))), cells)
        state = self.fake.state()
        self.assertEqual(state["requests"], {BASIC.hex(): 1, CELLS.hex(): 1})
        self.assertEqual(state["replies_sent"], 2)

    def test_a_request_written_in_pieces_is_one_request(self):
        os.write(self.fd, BASIC[:3])
        os.write(self.fd, BASIC[3:])
        expected = jbd.BMSState().reply(0x03)
        self.assertEqual(joined(read_for(self.fd, len(expected))), expected)
        self.assertEqual(self.fake.state()["requests"], {BASIC.hex(): 1})

    def test_split_reply_arrives_in_pieces_with_the_gaps(self):
        self.fake.command(cmd="set_faults", faults={"split": {"pieces": 3, "gap_ms": 120}})
        expected = jbd.BMSState().reply(0x03)
        chunks = self.ask(BASIC, len(expected))
        self.assertEqual(joined(chunks), expected)
        self.assertEqual(len(chunks), 3)
        gaps = [later[0] - earlier[0] for earlier, later in zip(chunks, chunks[1:])]
        self.assertTrue(all(gap >= 0.1 for gap in gaps), gaps)

    def test_echo_then_reply(self):
        self.fake.command(cmd="set_faults", faults={"echo": True})
        expected = BASIC + jbd.BMSState().reply(0x03)
        self.assertEqual(joined(self.ask(BASIC, len(expected))), expected)

    def test_silent_board_sends_nothing(self):
        self.fake.command(cmd="set_faults", faults={"silent": 1})
        os.write(self.fd, BASIC)
        self.assertTrue(quiet_for(self.fd, 0.3))
        self.assertEqual(self.fake.state()["requests"], {BASIC.hex(): 1})
        expected = jbd.BMSState().reply(0x03)
        self.assertEqual(joined(self.ask(BASIC, len(expected))), expected)

    def test_garbage_and_corrupt_checksum_and_status_error(self):
        self.fake.command(cmd="set_faults", faults={"garbage": "0102fe", "corrupt_checksum": 1})
        good = jbd.BMSState().reply(0x03)
        got = joined(self.ask(BASIC, 3 + len(good)))
        self.assertEqual(got[:3], bytes.fromhex("0102fe"))
        self.assertNotEqual(got[3:], good)
        self.assertEqual(got[3:-2], good[:-2])
        self.fake.command(cmd="set_faults", faults={"garbage": None, "status_error": 1})
        self.assertEqual(joined(self.ask(BASIC, 7)), jbd.error_frame(0x03))

    def test_unplug_hangs_up_and_removes_the_names_then_replug_brings_a_new_pty(self):
        old = self.fake.state()["slave"]
        self.assertEqual(self.fake.command(cmd="unplug"), {"ok": True})
        self.assertFalse(os.path.lexists(self.fake.link))
        self.assertFalse(os.path.exists(old))
        self.assertEqual(read_for(self.fd, 1, limit=2), [])  # end of file at once: hung up
        with self.assertRaises(OSError):
            os.write(self.fd, BASIC)
        self.assertFalse(self.fake.command(cmd="unplug")["ok"])
        replug = self.fake.command(cmd="replug")
        self.assertTrue(replug["ok"])
        self.assertNotEqual(replug["slave"], old)
        self.assertEqual(os.path.realpath(self.fake.link), replug["slave"])
        fd = open_client(self.fake.link)
        self.addCleanup(os.close, fd)
        os.write(fd, BASIC)
        expected = jbd.BMSState().reply(0x03)
        self.assertEqual(joined(read_for(fd, len(expected))), expected)

    def test_write_log_lists_every_request_and_flags_the_rest(self):
        write = jbd.request(0xE1, jbd.WRITE, b"\x00\x02")
        self.assertEqual(joined(self.ask(write, 7)), jbd.error_frame(0xE1))
        self.ask(b"\x55" + BASIC, 34)  # line noise before a request is logged on its own
        with open(self.fake.write_log) as f:
            lines = [line.split() for line in f]
        self.assertEqual([fields[5] for fields in lines], [write.hex(), "55", BASIC.hex()])
        self.assertEqual(self.fake.state()["flagged_writes"], 2)
        for fields in lines:
            self.assertEqual(len(fields), 8)
            self.assertEqual(fields[1:5], ["serial", self.fake.link, "-", "raw"])
            self.assertEqual(fields[6], self.fake.state()["slave"])
        self.assertIn("FLAGGED write " + write.hex(), self.fake.stderr())
        checked = subprocess.run([CHECK_WRITE_LOG, self.fake.write_log], capture_output=True, text=True)
        self.assertEqual(checked.returncode, 1, checked.stdout)
        self.assertIn(write.hex(), checked.stderr)

    def test_an_incomplete_request_is_logged_after_the_line_goes_idle(self):
        os.write(self.fd, BASIC[:4])
        self.assertTrue(quiet_for(self.fd, 0.1))  # a board never answers half a request
        state = self.fake.wait_for_state(lambda state: state["requests_received"] == 1)
        self.assertEqual(state["requests"], {BASIC[:4].hex(): 1})
        self.assertEqual(state["flagged_writes"], 1)
        expected = jbd.BMSState().reply(0x03)
        self.assertEqual(joined(self.ask(BASIC, len(expected))), expected)  # the stream is in step again

    def test_only_allowed_reads_pass_the_suite_wide_check(self):
        for request in (BASIC, CELLS):
            self.ask(request, 7)
        checked = subprocess.run([CHECK_WRITE_LOG, self.fake.write_log], capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_bad_control_requests_are_refused_and_change_nothing(self):
        before = self.fake.state()
        for message in ({"cmd": "nope"}, {"cmd": "set_faults", "faults": {"bogus": 1}},
                        {"cmd": "set_battery", "bms": {"rsoc": 50}, "faults": {"split": {"pieces": -1}}},
                        {"cmd": "set_bms", "bms": {"cells_mv": "x"}}, {"cmd": "get_state", "x": 1},
                        {"cmd": "set_bms", "bms": [1]}, {"cmd": "set_faults", "faults": "echo"},
                        {"cmd": "inject", "hex": 5}, {"cmd": 7}, ["get_state"]):
            reply = self.fake.send(message)
            self.assertFalse(reply["ok"], message)
            self.assertTrue(reply["error"])
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(self.fake.control)
            sock.sendall(b"not json\n\xff\xfe\n")
            replies = sock.makefile("rb")
            for _ in range(2):
                self.assertIn("bad JSON", json.loads(replies.readline())["error"])
        self.assertEqual(self.fake.state()["bms"], before["bms"])
        self.assertEqual(self.fake.state()["faults"], {})


class LifecycleTests(unittest.TestCase):
    def test_initial_battery_and_clean_exit(self):
        fake = FakeLine(battery={"bms": {"rsoc": 42}, "faults": {"echo": True}})
        try:
            state = fake.state()
            self.assertEqual(state["bms"]["rsoc"], 42)
            self.assertEqual(state["faults"], {"echo": True})
            fake.process.terminate()
            self.assertEqual(fake.process.wait(10), 0)
            self.assertFalse(os.path.lexists(fake.link))
            self.assertFalse(os.path.exists(fake.control))
        finally:
            fake.close()

    def test_bad_initial_battery_is_a_clear_error(self):
        result = subprocess.run(["/usr/bin/python3", os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "fake_serial_bms.py"), "--battery", '{"faults": {"x": 1}}'],
            capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown faults", result.stderr)


if __name__ == "__main__":
    unittest.main()
