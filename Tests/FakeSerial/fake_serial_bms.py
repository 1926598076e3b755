#!/usr/bin/env python3
"""A JBD smart-BMS on a pseudo-terminal, for tests without a USB-UART cable. See README.md."""

import argparse
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from fakeserial.board import ControlError  # noqa: E402
from fakeserial.server import FakeSerialBMS  # noqa: E402


def _exit_cleanly(*_):
    raise SystemExit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--link", help="symlink to create for the slave tty (a stable name like /dev/serial/by-id/…)")
    parser.add_argument("--control", help="unix socket path for the JSON-lines control interface")
    parser.add_argument("--write-log", help="append one line per request the client writes")
    parser.add_argument("--battery", default="{}", help='initial {"bms": {...}, "faults": {...}, "delays": {...}}')
    args = parser.parse_args()
    try:
        battery = json.loads(args.battery)
        fake = FakeSerialBMS(link=args.link, control=args.control, write_log=args.write_log, battery=battery)
    except (json.JSONDecodeError, ControlError) as error:
        print(f"fake_serial_bms: --battery: {error}", file=sys.stderr)
        return 2
    # Raising (not setting a flag) ends the select() the loop may be waiting in.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    fake.start()
    try:
        print("READY", flush=True)
        fake.run()
    finally:
        fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
