"""The FF AA password exchange of JBD Bluetooth modules (no D-Bus here, so it is unit-testable).

Frame: FF AA cmd len data... cs, cs = (cmd + len + sum(data)) & 0xFF. The module keeps the
unlock state per connection; the BMS behind it only sees DD frames once the module is unlocked.
"""

import random

HEADER = b"\xff\xaa"
APP_KEY = b"000000"          # the vendor app always sends this app key

CMD_APP_KEY = 0x15
CMD_CHALLENGE = 0x17
CMD_PASSWORD = 0x18
ALLOWED_COMMANDS = (CMD_APP_KEY, CMD_CHALLENGE, CMD_PASSWORD)

APP_KEY_PASSWORD_REQUIRED = 0x00
APP_KEY_REJECTED = 0x01
APP_KEY_NO_PASSWORD = 0x02
PASSWORD_OK = 0x00
PASSWORD_WRONG = 0x01


def checksum(cmd, data):
    return (cmd + len(data) + sum(data)) & 0xFF


def frame(cmd, data=b""):
    data = bytes(data)
    return HEADER + bytes([cmd, len(data)]) + data + bytes([checksum(cmd, data)])


def parse(payload):
    """(cmd, data) of a well-formed FF AA frame, else None (length or checksum wrong)."""
    payload = bytes(payload)
    if len(payload) < 5 or payload[:2] != HEADER:
        return None
    cmd, size = payload[2], payload[3]
    if len(payload) != size + 5:
        return None
    data = payload[4:4 + size]
    if payload[-1] != checksum(cmd, data):
        return None
    return cmd, data


def mac_bytes(address):
    return bytes(int(part, 16) for part in address.split(":"))


def encode_password(address, password, challenge):
    """The six 0x18 data bytes: Ei = ((MAC[i] XOR pw[i]) + RR) & 0xFF, MAC in display order."""
    mac = mac_bytes(address)
    pw = password.encode("ascii")
    if len(mac) != 6 or len(pw) != 6:
        raise ValueError("address and password must both have 6 bytes")
    return bytes(((m ^ p) + challenge) & 0xFF for m, p in zip(mac, pw))


def is_allowed_frame(payload):
    """The only FF AA frames a reader may send: app key "000000", challenge request, password."""
    parsed = parse(payload)
    if parsed is None:
        return False
    cmd, data = parsed
    return ((cmd == CMD_APP_KEY and data == APP_KEY)
            or (cmd == CMD_CHALLENGE and data == b"")
            or (cmd == CMD_PASSWORD and len(data) == 6))


class Session:
    """One connection's view of the module: locked until app key, challenge and password are right."""

    def __init__(self, address, password, challenge=None, rng=None):
        self.address = address
        self.password = password          # None = no password set in the vendor app
        self.fixed_challenge = challenge  # None = random byte per 0x17
        self.rng = rng or random.Random(address)
        self.app_key_accepted = False
        self.challenge = None
        self.unlocked = password is None

    def receive(self, payload):
        """Reply bytes for an FF AA frame (b"" = no answer). Raises ValueError for forbidden frames."""
        if not is_allowed_frame(payload):
            raise ValueError(f"forbidden FF AA frame {bytes(payload).hex()}")
        cmd, data = parse(payload)
        if cmd == CMD_APP_KEY:
            if self.password is None:
                return frame(CMD_APP_KEY, [APP_KEY_NO_PASSWORD])
            self.app_key_accepted = True
            return frame(CMD_APP_KEY, [APP_KEY_PASSWORD_REQUIRED])
        if self.password is None or not self.app_key_accepted:
            return b""  # the module ignores the exchange out of order
        if cmd == CMD_CHALLENGE:
            rr = self.fixed_challenge if self.fixed_challenge is not None else self.rng.randrange(256)
            self.challenge = rr
            return frame(CMD_CHALLENGE, [rr])
        if self.challenge is None:
            return b""
        expected = encode_password(self.address, self.password, self.challenge)
        self.challenge = None  # one guess per challenge
        if data == expected:
            self.unlocked = True
            return frame(CMD_PASSWORD, [PASSWORD_OK])
        return frame(CMD_PASSWORD, [PASSWORD_WRONG])
