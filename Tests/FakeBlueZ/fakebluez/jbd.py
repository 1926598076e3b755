"""The JBD smart-BMS byte protocol as seen from the BMS side: state in, reply frames out.

Pure functions and one small state class; nothing here knows about D-Bus.
Frame layout and field tables follow the JBD "General Protocol V4" / V11 documents.
"""

import copy

START, END = 0xDD, 0x77
READ, WRITE = 0xA5, 0x5A
STATUS_OK, STATUS_UNKNOWN = 0x00, 0x80

# The only four requests a read-only client may ever send (hex, lower case).
ALLOWED_REQUESTS = {
    "dda50300fffd77": 0x03,
    "dda50400fffc77": 0x04,
    "dda50500fffb77": 0x05,
    "dda5aa00ff5677": 0xAA,
}

KELVIN_OFFSET_DECI = 2731  # 0.1 K at 0 °C

# Defaults reproduce the LIONTRON LX 12.8 V 100 Ah capture byte for byte.
DEFAULT_STATE = {
    "cells_mv": [3301, 3299, 3301, 3304],
    "cell_count": None,          # 0x03 cell-count byte; None = len(cells_mv)
    "temps_c": [20.1, 19.2],
    "current_a": 0.0,
    "voltage_v": None,           # None = sum(cells_mv), truncated to 10 mV
    "remaining_ah": 70.90,
    "nominal_ah": 109.91,
    "cycles": 2,
    "production_date": "2020-08-10",  # "YYYY-MM-DD" or raw u16 (0 on clones)
    "balance_bits": 0,           # u32: bit 0 = cell 1 ... bit 31 = cell 32
    "protection_bits": 0,
    "software_version": "2.5",   # "M.m" or raw byte (0x25)
    "rsoc": 65,
    "fet_bits": 0x03,            # bit7 switches current/capacity unit to 100 mA(h)
    "v11_extension": None,       # {"humidity", "alarm_bits", "full_charge_ah", "remaining_ah", "balance_current_ma"}
    "trailing_hex": "",          # vendor bytes appended to the 0x03 data (clones)
    "model": "JBD-SP04S034-L4S-200A-B-U",  # None = answer 0x05 with an error frame
    "counters": None,            # 11 or 12 u16 for 0xAA; None = answer 0xAA with an error frame
    "reply_overrides": {},       # {"03": "dd03...77"} serve these exact bytes instead
}


def checksum(body):
    """Checksum over status/register..last data byte: (0x10000 - sum) & 0xFFFF."""
    return (0x10000 - sum(body)) & 0xFFFF


def frame(register, status, data=b""):
    """A complete reply frame: DD reg status len data chk_hi chk_lo 77."""
    data = bytes(data)
    if len(data) > 0xFF:
        raise ValueError("JBD data is at most 255 bytes")
    body = bytes([status, len(data)]) + data
    chk = checksum(body)
    return bytes([START, register]) + body + bytes([chk >> 8, chk & 0xFF, END])


def request(register, op=READ, data=b""):
    """A host request frame (used by tests): DD A5|5A reg len data chk 77."""
    data = bytes(data)
    body = bytes([register, len(data)]) + data
    chk = checksum(body)
    return bytes([START, op]) + body + bytes([chk >> 8, chk & 0xFF, END])


def error_frame(register, status=STATUS_UNKNOWN):
    return frame(register, status)


def _u16(value):
    value = int(value)
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{value} does not fit in u16")
    return value.to_bytes(2, "big")


def _s16(value):
    value = int(value)
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueError(f"{value} does not fit in s16")
    return value.to_bytes(2, "big", signed=True)


def _scaled(value, per_unit):
    """Engineering value -> integer register units, rounding away float noise."""
    return int(round(float(value) * per_unit))


def encode_date(date):
    if isinstance(date, int):
        return date
    year, month, day = (int(part) for part in str(date).split("-"))
    return ((year - 2000) << 9) | (month << 5) | day


def encode_version(version):
    if isinstance(version, int):
        return version
    major, minor = str(version).split(".")
    return (int(major) << 4) | int(minor)


def encode_temperature(celsius):
    return _u16(_scaled(celsius, 10) + KELVIN_OFFSET_DECI)


class BMSState:
    """What the emulated BMS currently measures. Mutated only by the test harness."""

    def __init__(self, values=None):
        self.values = copy.deepcopy(DEFAULT_STATE)
        if values:
            self.update(values)

    def update(self, partial):
        unknown = set(partial) - set(DEFAULT_STATE)
        if unknown:
            raise ValueError(f"unknown BMS fields: {sorted(unknown)}")
        candidate = copy.deepcopy(self.values)
        candidate.update(copy.deepcopy(partial))
        for register in (0x03, 0x04, 0x05, 0xAA):  # validate before committing
            reply_for(candidate, register)
        self.values = candidate

    def reply(self, register):
        return reply_for(self.values, register)

    def to_json(self):
        return copy.deepcopy(self.values)


def _basic_info_data(s):
    per_unit = 10 if s["fet_bits"] & 0x80 else 100  # 100 mA units when bit 7 is set
    cells = s["cells_mv"]
    voltage = s["voltage_v"]
    voltage_10mv = sum(cells) // 10 if voltage is None else _scaled(voltage, 100)
    balance = int(s["balance_bits"])
    temps = s["temps_c"]
    data = b"".join([
        _u16(voltage_10mv),
        _s16(_scaled(s["current_a"], per_unit)),
        _u16(_scaled(s["remaining_ah"], per_unit)),
        _u16(_scaled(s["nominal_ah"], per_unit)),
        _u16(s["cycles"]),
        _u16(encode_date(s["production_date"])),
        _u16(balance & 0xFFFF),
        _u16((balance >> 16) & 0xFFFF),
        _u16(s["protection_bits"]),
        bytes([encode_version(s["software_version"]),
               int(s["rsoc"]),
               int(s["fet_bits"]),
               len(cells) if s["cell_count"] is None else int(s["cell_count"]),
               len(temps)]),
        b"".join(encode_temperature(t) for t in temps),
    ])
    ext = s["v11_extension"]
    if ext is not None:
        data += bytes([int(ext.get("humidity", 0))])
        data += _u16(ext.get("alarm_bits", 0))
        data += _u16(_scaled(ext.get("full_charge_ah", 0), per_unit))
        data += _u16(_scaled(ext.get("remaining_ah", 0), per_unit))
        data += _u16(ext.get("balance_current_ma", 0))
    return data + bytes.fromhex(s["trailing_hex"])


def reply_for(s, register):
    """The reply frame the BMS sends for a read of `register`."""
    override = s["reply_overrides"].get(f"{register:02x}")
    if override:
        return bytes.fromhex(override)
    if register == 0x03:
        return frame(0x03, STATUS_OK, _basic_info_data(s))
    if register == 0x04:
        return frame(0x04, STATUS_OK, b"".join(_u16(mv) for mv in s["cells_mv"]))
    if register == 0x05:
        if s["model"] is None:
            return error_frame(0x05)
        model = s["model"].encode("ascii")
        if len(model) > 31:
            raise ValueError("model string is at most 31 bytes")
        return frame(0x05, STATUS_OK, model)
    if register == 0xAA:
        counters = s["counters"]
        if counters is None:
            return error_frame(0xAA)
        if len(counters) not in (11, 12):
            raise ValueError("0xAA carries 11 or 12 counters")
        return frame(0xAA, STATUS_OK, b"".join(_u16(c) for c in counters))
    return error_frame(register)


def answer(state, payload):
    """The BMS reaction to one written payload: (register, reply bytes).

    Only the four read requests get data; everything else, including every
    DD 5A write, gets a status 0x80 error frame and changes nothing.
    """
    payload = bytes(payload)
    register = ALLOWED_REQUESTS.get(payload.hex())
    if register is not None:
        return register, state.reply(register)
    unknown = payload[2] if len(payload) >= 3 and payload[0] == START else 0x00
    return unknown, error_frame(unknown)
