"""The FF AA exchange without D-Bus: the issue's check vectors and the module's per-connection state."""

import unittest

from fakebluez import ffaa

APP_KEY = bytes.fromhex("ffaa15063030303030303b")
CHALLENGE = bytes.fromhex("ffaa170017")


class Formula(unittest.TestCase):
    def test_check_vectors(self):
        cases = [("10:A5:62:32:75:36", "123456", 0x24, "ffaa180645bb752a642445"),
                 ("A4:C1:37:04:2D:BE", "123123", 0x37, "ffaa1806cc2a3b6c56c4d5")]
        for address, password, rr, expected in cases:
            with self.subTest(address=address):
                data = ffaa.encode_password(address, password, rr)
                self.assertEqual(ffaa.frame(ffaa.CMD_PASSWORD, data).hex(), expected)

    def test_request_frames_match_the_captures(self):
        self.assertEqual(ffaa.frame(ffaa.CMD_APP_KEY, b"000000"), APP_KEY)
        self.assertEqual(ffaa.frame(ffaa.CMD_CHALLENGE), CHALLENGE)

    def test_allowed_frames(self):
        self.assertTrue(ffaa.is_allowed_frame(APP_KEY))
        self.assertTrue(ffaa.is_allowed_frame(CHALLENGE))
        self.assertTrue(ffaa.is_allowed_frame(bytes.fromhex("ffaa180645bb752a642445")))
        for forbidden in (ffaa.frame(0x16, b"123456"), ffaa.frame(0x1D, b"\x00"), ffaa.frame(0x07, b"name"),
                          ffaa.frame(ffaa.CMD_APP_KEY, b"111111"), APP_KEY[:-1] + b"\x00", b"\xff\xaa"):
            with self.subTest(frame=forbidden.hex()):
                self.assertFalse(ffaa.is_allowed_frame(forbidden))


class SessionBehaviour(unittest.TestCase):
    ADDRESS = "10:A5:62:32:75:36"

    def test_right_password_unlocks(self):
        s = ffaa.Session(self.ADDRESS, "123456", challenge=0x24)
        self.assertFalse(s.unlocked)
        self.assertEqual(s.receive(APP_KEY).hex(), "ffaa15010016")
        self.assertEqual(s.receive(CHALLENGE).hex(), "ffaa1701243c")
        self.assertEqual(s.receive(bytes.fromhex("ffaa180645bb752a642445")).hex(), "ffaa18010019")
        self.assertTrue(s.unlocked)

    def test_wrong_password_stays_locked(self):
        s = ffaa.Session(self.ADDRESS, "654321", challenge=0x24)
        s.receive(APP_KEY)
        s.receive(CHALLENGE)
        self.assertEqual(s.receive(bytes.fromhex("ffaa180645bb752a642445")).hex(), "ffaa1801011a")
        self.assertFalse(s.unlocked)

    def test_no_password_set(self):
        s = ffaa.Session(self.ADDRESS, None)
        self.assertTrue(s.unlocked)
        self.assertEqual(s.receive(APP_KEY).hex(), "ffaa15010218")

    def test_out_of_order_frames_are_ignored(self):
        s = ffaa.Session(self.ADDRESS, "123456", challenge=0x24)
        self.assertEqual(s.receive(CHALLENGE), b"")
        s.receive(APP_KEY)
        self.assertEqual(s.receive(bytes.fromhex("ffaa180645bb752a642445")), b"")  # no challenge yet
        self.assertFalse(s.unlocked)

    def test_random_challenge_is_seeded_and_used(self):
        challenges = []
        for _ in range(2):
            s = ffaa.Session(self.ADDRESS, "123456")
            s.receive(APP_KEY)
            rr = s.receive(CHALLENGE)[4]
            challenges.append(rr)
            answer = ffaa.frame(ffaa.CMD_PASSWORD, ffaa.encode_password(self.ADDRESS, "123456", rr))
            self.assertEqual(s.receive(answer).hex(), "ffaa18010019")
        self.assertEqual(challenges[0], challenges[1])

    def test_forbidden_frame_raises(self):
        s = ffaa.Session(self.ADDRESS, "123456")
        with self.assertRaises(ValueError):
            s.receive(ffaa.frame(0x16, b"000000"))


if __name__ == "__main__":
    unittest.main()
