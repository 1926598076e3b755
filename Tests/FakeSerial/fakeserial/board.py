"""The emulated board plus its adapter: state, faults, and the bytes sent back for a request."""

import random

from .jbdlink import jbd

DEFAULT_DELAYS = {
    "reply_delay_ms": 20,    # request complete -> first reply byte
    "request_idle_ms": 200,  # an incomplete request is logged and dropped after this much silence
}

# Count-type faults: true/-1 = always, N = the next N replies. The others are settings.
COUNT_FAULTS = {"silent", "corrupt_checksum", "status_error"}
SETTING_FAULTS = {"split", "garbage", "echo"}
DEFAULT_SPLIT = {"pieces": 3, "gap_ms": 120}


class ControlError(Exception):
    pass


def _off(value):
    return value is None or value is False or value == 0 or value == ""


class Board:
    def __init__(self, seed=13):
        self.bms = jbd.BMSState()
        self.faults = {}
        self.delays = dict(DEFAULT_DELAYS)
        self.random = random.Random(seed)

    def set_bms(self, partial):
        if not isinstance(partial, dict):
            raise ControlError("bms must be a JSON object")
        try:
            self.bms.update(partial)
        except (ValueError, TypeError, KeyError) as error:
            raise ControlError(f"invalid bms values: {error}") from error

    def set_faults(self, partial):
        if not isinstance(partial, dict):
            raise ControlError("faults must be a JSON object")
        unknown = set(partial) - COUNT_FAULTS - SETTING_FAULTS
        if unknown:
            raise ControlError(f"unknown faults: {sorted(unknown)}")
        checked = {name: self._checked(name, value) for name, value in partial.items()}
        for name, value in checked.items():  # all valid: apply
            if value is None:
                self.faults.pop(name, None)
            else:
                self.faults[name] = value

    def set_delays(self, partial):
        if not isinstance(partial, dict):
            raise ControlError("delays must be a JSON object")
        unknown = set(partial) - set(DEFAULT_DELAYS)
        if unknown:
            raise ControlError(f"unknown delays: {sorted(unknown)}")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in partial.values()):
            raise ControlError("delays are non-negative numbers of milliseconds")
        self.delays.update({k: int(v) for k, v in partial.items()})

    @staticmethod
    def _checked(name, value):
        if _off(value):
            return None
        if name in COUNT_FAULTS or name == "echo":
            if value is True or (isinstance(value, int) and not isinstance(value, bool) and value >= -1):
                return value
            raise ControlError(f"fault {name}: true, -1 or a count")
        if name == "split":
            split = dict(DEFAULT_SPLIT) if value is True else value
            if (not isinstance(split, dict) or set(split) - set(DEFAULT_SPLIT)
                    or not isinstance(split.get("pieces", 3), int) or split.get("pieces", 3) < 1
                    or not isinstance(split.get("gap_ms", 0), (int, float)) or split.get("gap_ms", 0) < 0):
                raise ControlError('fault split: true or {"pieces": N >= 1, "gap_ms": M >= 0}')
            return {**DEFAULT_SPLIT, **split}
        # garbage: true = 1..8 random bytes (never 0xDD, so no false frame start) or exact hex
        if value is True:
            return True
        try:
            bytes.fromhex(value)
        except (TypeError, ValueError) as error:
            raise ControlError("fault garbage: true or a hex string") from error
        return value

    def take(self, name):
        value = self.faults.get(name)
        if value is None:
            return False
        if value is True or value == -1:
            return True
        if value == 1:
            del self.faults[name]
        else:
            self.faults[name] = value - 1
        return True

    def respond(self, request):
        """The pieces the line carries back for one request: [(delay_ms, bytes)], in order.

        Delays are relative to the previous piece. Bytes that are not a whole DD frame get no
        reply (a board ignores line noise and cut-off requests); every whole frame gets one, an
        error frame for anything but the four read requests, and nothing changes the state.
        """
        pieces = []
        if self.faults.get("echo"):
            pieces.append((0, request))  # the RS485 adapter hears itself at once
        whole = len(request) >= 7 and request[0] == jbd.START and len(request) == 7 + request[3] \
            and request[-1] == jbd.END
        if not whole or self.take("silent"):
            return pieces
        register, reply = jbd.answer(self.bms, request)
        if self.take("status_error"):
            reply = jbd.error_frame(register)
        if self.take("corrupt_checksum"):
            reply = reply[:-2] + bytes([reply[-2] ^ 0xFF]) + reply[-1:]
        stream = self._garbage() + reply
        split = self.faults.get("split")
        if split:
            count = min(split["pieces"], len(stream))
            size = -(-len(stream) // count)
            chunks = [stream[i:i + size] for i in range(0, len(stream), size)]
            pieces.append((self.delays["reply_delay_ms"], chunks[0]))
            pieces.extend((split["gap_ms"], chunk) for chunk in chunks[1:])
        else:
            pieces.append((self.delays["reply_delay_ms"], stream))
        return pieces

    def _garbage(self):
        value = self.faults.get("garbage")
        if value is None:
            return b""
        if value is True:
            return bytes(self.random.choice([b for b in range(256) if b != jbd.START])
                         for _ in range(self.random.randint(1, 8)))
        return bytes.fromhex(value)
