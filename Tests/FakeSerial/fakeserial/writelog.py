"""The write log, in the Bluetooth fake's line format so one check covers both transports."""

import datetime
import sys

from .jbdlink import jbd


class WriteLog:
    """One line per request the client wrote, appended and flushed before the fake reacts.

    Fields: time, `serial` (where the Bluetooth log has the adapter), the device name the
    client opened (address), `-` (no UUID), `raw` (write type), payload hex, the slave tty
    (object path), `-` (no sender). scripts/check-write-log reads the sixth field.
    """

    def __init__(self, path=None):
        self.path = path
        self.entries = []

    def record(self, device, slave, payload):
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds"),
            "adapter": "serial",
            "address": device,
            "uuid": "-",
            "type": "raw",
            "hex": payload.hex() or "-",
            "path": slave,
            "sender": "-",
            "allowed": payload.hex() in jbd.ALLOWED_REQUESTS,
        }
        self.entries.append(entry)
        if not entry["allowed"]:
            print(f"FLAGGED write {entry['hex']} on {device}: not an allowed read request",
                  file=sys.stderr, flush=True)
        if self.path:
            fields = ("time", "adapter", "address", "uuid", "type", "hex", "path", "sender")
            with open(self.path, "a") as f:
                f.write(" ".join(entry[k] for k in fields) + "\n")
                f.flush()
        return entry
