"""The Python peer the wake-up benchmark compares bms_exporter with.

A minimal exporter as someone would write it with the usual Python stack: aiobmsble's JBD
plugin (over bleak, over dbus-fast) reads one battery every --interval seconds, and
prometheus_client serves the values. It sends what aiobmsble sends: 0x03 and 0x04 each poll
(no password frames: no secret is configured). Runs in the venv that measure.py creates.
"""

import argparse
import asyncio
import sys

from aiobmsble import BMSConfig
from aiobmsble.bms.jbd_bms import BMS
from bleak import BleakScanner
from prometheus_client import Counter, Gauge, start_http_server


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--keep-connected", choices=("true", "false"), default="true")
    parser.add_argument("--port", type=int, required=True)
    return parser.parse_args()


async def run(args):
    device = await BleakScanner.find_device_by_address(args.address, timeout=20)
    if device is None:
        sys.exit(f"peer_exporter: {args.address} not found")
    bms = BMS(device, BMSConfig(keep_alive=args.keep_connected == "true"))
    voltage = Gauge("bms_voltage_volts", "Pack voltage")
    current = Gauge("bms_current_amperes", "Pack current")
    soc = Gauge("bms_state_of_charge_ratio", "State of charge")
    cells = Gauge("bms_cell_voltage_volts", "Cell voltage", ["cell"])
    failures = Counter("bms_poll_failures", "Polls that failed")
    start_http_server(args.port, addr="127.0.0.1")
    print("READY", flush=True)

    loop = asyncio.get_running_loop()
    deadline = loop.time()
    while True:
        try:
            sample = await bms.async_update()
            voltage.set(sample.get("voltage", 0))
            current.set(sample.get("current", 0))
            soc.set(sample.get("battery_level", 0) / 100)
            for index, value in enumerate(sample.get("cell_voltages", [])):
                cells.labels(str(index + 1)).set(value)
        except Exception as error:  # a failed poll is counted, like the real exporter does
            failures.inc()
            print(f"peer_exporter: poll failed: {error!r}", file=sys.stderr, flush=True)
        # A fixed schedule, as bms_exporter keeps: the next poll starts one interval after this one did.
        deadline += args.interval
        await asyncio.sleep(max(0.0, deadline - loop.time()))


if __name__ == "__main__":
    asyncio.run(run(parse_args()))
