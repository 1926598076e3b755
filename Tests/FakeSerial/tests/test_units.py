"""The framer and the board, without a pty."""

import unittest

from fakeserial.board import Board, ControlError
from fakeserial.framer import RequestFramer
from fakeserial.jbdlink import jbd

BASIC = bytes.fromhex("dda50300fffd77")
CELLS = bytes.fromhex("dda50400fffc77")


class FramerTests(unittest.TestCase):
    def test_whole_and_split_requests(self):
        framer = RequestFramer()
        self.assertEqual(framer.feed(BASIC + CELLS[:3]), [BASIC])
        self.assertEqual(framer.feed(CELLS[3:]), [CELLS])
        self.assertEqual(framer.pending, bytearray())

    def test_noise_before_a_frame_is_its_own_item(self):
        self.assertEqual(RequestFramer().feed(b"\x01\x02" + BASIC), [b"\x01\x02", BASIC])

    def test_a_write_request_is_framed_by_its_length(self):
        write = jbd.request(0xE1, jbd.WRITE, b"\x00\x02")
        self.assertEqual(RequestFramer().feed(write + BASIC), [write, BASIC])

    def test_flush_returns_an_incomplete_request_once(self):
        framer = RequestFramer()
        self.assertEqual(framer.feed(BASIC[:5]), [])
        self.assertEqual(framer.flush(), [BASIC[:5]])
        self.assertEqual(framer.flush(), [])


class BoardTests(unittest.TestCase):
    def reply(self, board, request=BASIC):
        return b"".join(data for _, data in board.respond(request))

    def test_allowed_reads_get_the_bluetooth_fakes_bytes(self):
        board = Board()
        board.set_bms({"cells_mv": [3400, 3401], "current_a": -2.5})
        expected = jbd.BMSState({"cells_mv": [3400, 3401], "current_a": -2.5})
        self.assertEqual(self.reply(board, BASIC), expected.reply(0x03))
        self.assertEqual(self.reply(board, CELLS), expected.reply(0x04))

    def test_other_frames_get_an_error_frame_and_noise_nothing(self):
        board = Board()
        write = jbd.request(0xE1, jbd.WRITE, b"\x00\x02")
        self.assertEqual(self.reply(board, write), jbd.error_frame(0xE1))
        self.assertEqual(board.respond(b"\x01\x02"), [])
        self.assertEqual(board.respond(BASIC[:4]), [])

    def test_count_faults_fire_the_given_number_of_times(self):
        board = Board()
        board.set_faults({"status_error": 2, "silent": 1})
        self.assertEqual(board.respond(BASIC), [])
        self.assertEqual(self.reply(board), jbd.error_frame(0x03))
        self.assertEqual(self.reply(board), jbd.error_frame(0x03))
        self.assertEqual(self.reply(board), jbd.BMSState().reply(0x03))
        self.assertEqual(board.faults, {})

    def test_corrupt_checksum_alters_only_the_checksum(self):
        board = Board()
        board.set_faults({"corrupt_checksum": True})
        good, bad = jbd.BMSState().reply(0x03), self.reply(board)
        self.assertEqual(len(good), len(bad))
        self.assertEqual([i for i in range(len(good)) if good[i] != bad[i]], [len(good) - 2])

    def test_echo_comes_first_even_when_the_board_is_silent(self):
        board = Board()
        board.set_faults({"echo": True, "silent": True})
        self.assertEqual(board.respond(BASIC), [(0, BASIC)])

    def test_split_cuts_the_reply_into_evenly_spaced_pieces(self):
        board = Board()
        board.set_faults({"split": {"pieces": 3, "gap_ms": 120}})
        pieces = board.respond(BASIC)
        self.assertEqual(len(pieces), 3)
        self.assertEqual([delay for delay, _ in pieces], [board.delays["reply_delay_ms"], 120, 120])
        self.assertEqual(b"".join(data for _, data in pieces), jbd.BMSState().reply(0x03))

    def test_random_garbage_precedes_the_reply_and_never_starts_a_frame(self):
        board = Board()
        board.set_faults({"garbage": True})
        reply = jbd.BMSState().reply(0x03)
        for _ in range(50):
            stream = self.reply(board)
            self.assertTrue(stream.endswith(reply))
            noise = stream[:-len(reply)]
            self.assertTrue(1 <= len(noise) <= 8)
            self.assertNotIn(jbd.START, noise)

    def test_invalid_settings_are_refused_and_change_nothing(self):
        board = Board()
        for bad in ({"unknown": True}, {"split": {"pieces": 0}}, {"garbage": "xyz"}, {"silent": "yes"},
                    {"echo": True, "split": {"gap_ms": -1}}):
            with self.assertRaises(ControlError):
                board.set_faults(bad)
        self.assertEqual(board.faults, {})
        with self.assertRaises(ControlError):
            board.set_bms({"cells_mv": [70000]})
        self.assertEqual(board.bms.to_json()["cells_mv"], [3301, 3299, 3301, 3304])

    def test_falsy_values_remove_a_fault(self):
        board = Board()
        board.set_faults({"echo": True, "garbage": "00ff", "split": True})
        board.set_faults({"echo": False, "garbage": "", "split": None})
        self.assertEqual(board.faults, {})


if __name__ == "__main__":
    unittest.main()
