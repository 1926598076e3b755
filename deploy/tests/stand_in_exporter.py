#!/usr/bin/env python3
"""A stand-in for `bms_exporter serve --simulate`, for developing the
dashboard and rules before the real binary exists.

It serves, on /metrics, every metric family of the metric contract (README.md,
Metrics) for one battery named "house" (4 cells, 2 temperature sensors),
with values that drift slowly, in text format 0.0.4. Python 3 stdlib only.

    stand_in_exporter.py --web.listen-address 127.0.0.1:9882
"""

import argparse
import math
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BATTERY = "house"
CELLS = 4
SENSORS = 2
PROTECTIONS = (
    "cell_overvoltage", "cell_undervoltage", "pack_overvoltage", "pack_undervoltage",
    "charge_overtemperature", "charge_undertemperature", "discharge_overtemperature",
    "discharge_undertemperature", "charge_overcurrent", "discharge_overcurrent",
    "short_circuit", "frontend_error", "mosfet_software_lock", "charge_mosfet_fault",
    "discharge_mosfet_fault",
)
# Register 0xAA counts these (a subset of the protections).
PROTECTION_EVENTS = (
    "short_circuit", "charge_overcurrent", "discharge_overcurrent", "cell_overvoltage",
    "cell_undervoltage", "charge_overtemperature", "charge_undertemperature",
    "discharge_overtemperature", "discharge_undertemperature", "pack_overvoltage",
    "pack_undervoltage",
)
# V11 alarm bits; the label values are this stand-in's guess, not contract.
ALARMS = ("cell_high_voltage", "cell_low_voltage", "cell_voltage_difference", "low_capacity")
FAILURE_REASONS = ("timeout", "checksum", "connect", "status")

STARTED = time.time()


class Exposition:
    """Collects families and renders text format 0.0.4."""

    def __init__(self):
        self.lines = []

    def family(self, name, kind, help_text, samples):
        """samples: list of (labels dict, value)."""
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            pairs = ",".join(f'{k}="{v}"' for k, v in labels.items())
            sample = f"{name}{{{pairs}}}" if pairs else name
            self.lines.append(f"{sample} {value!r}")

    def text(self):
        return "\n".join(self.lines) + "\n"


def render(now):
    t = now - STARTED
    b = {"battery": BATTERY}
    current = 8.0 * math.sin(t / 60.0)               # charges, then discharges
    cells = [3.30 + 0.01 * i + 0.005 * math.sin(t / 30.0 + i) for i in range(CELLS)]
    voltage = sum(cells)
    nominal = 100.0
    remaining = 60.0 + 5.0 * math.sin(t / 60.0)
    temps = [18.0 + math.sin(t / 90.0), 21.5 + 0.5 * math.sin(t / 45.0)]
    balancing_cell = int(t / 10) % CELLS + 1          # one cell balancing at a time
    timeouts = int(t / 5)                              # a failed poll every 5 s

    e = Exposition()
    e.family("bms_up", "gauge", "1 when the latest poll succeeded and is fresher than max age.", [(b, 1)])
    e.family("bms_voltage_volts", "gauge", "Pack voltage (latest reading, polled in the background).", [(b, voltage)])
    e.family("bms_current_amperes", "gauge", "Pack current, positive while charging.", [(b, current)])
    e.family("bms_remaining_capacity_ampere_hours", "gauge", "Remaining capacity.", [(b, remaining)])
    e.family("bms_nominal_capacity_ampere_hours", "gauge", "Nominal capacity.", [(b, nominal)])
    e.family("bms_full_charge_capacity_ampere_hours", "gauge", "Full-charge capacity (V11 boards).", [(b, 98.5)])
    e.family("bms_state_of_charge_ratio", "gauge", "State of charge (RSOC / 100).", [(b, round(remaining / nominal, 2))])
    e.family("bms_charge_cycles_total", "counter", "Charge cycles as counted by the BMS.", [(b, 42)])
    e.family("bms_cell_voltage_volts", "gauge", "Cell voltage.",
             [({**b, "cell": str(i + 1)}, v) for i, v in enumerate(cells)])
    e.family("bms_temperature_celsius", "gauge", "Temperature sensor reading.",
             [({**b, "sensor": str(i + 1)}, v) for i, v in enumerate(temps)])
    e.family("bms_cell_balancing", "gauge", "1 while that cell's balancer is on.",
             [({**b, "cell": str(i + 1)}, int(i + 1 == balancing_cell)) for i in range(CELLS)])
    e.family("bms_protection_active", "gauge", "1 while that protection is set.",
             [({**b, "protection": p}, 0) for p in PROTECTIONS])
    e.family("bms_alarm_active", "gauge", "1 while that alarm is set (V11 boards).",
             [({**b, "alarm": a}, 0) for a in ALARMS])
    e.family("bms_mosfet_enabled", "gauge", "1 while that MOSFET is on.",
             [({**b, "mosfet": "charge"}, 1), ({**b, "mosfet": "discharge"}, 1)])
    e.family("bms_protection_events_total", "counter", "Protection events counted by the BMS (register 0xAA).",
             [({**b, "protection": p}, 3 if p == "cell_overvoltage" else 0) for p in PROTECTION_EVENTS])
    e.family("bms_info", "gauge", "Static facts about the BMS; always 1.",
             [({**b, "address": "A4:C1:38:12:34:56", "model": "JBD-SP04S034-L4S-200A-B-U",
                "software_version": "2.5", "manufacture_date": "2020-08-10"}, 1)])
    e.family("bms_connected", "gauge", "1 while the BLE link is up.", [(b, 1)])
    e.family("bms_rssi_dbm", "gauge", "Received signal strength as BlueZ reports it.", [(b, -67 + 3 * math.sin(t / 20.0))])
    e.family("bms_last_success_timestamp_seconds", "gauge", "Unix time of the last good reading.", [(b, math.floor(now))])
    e.family("bms_poll_duration_seconds", "gauge", "Duration of the last poll.", [(b, 0.35 + 0.05 * math.sin(t))])
    e.family("bms_poll_failures_total", "counter", "Failed polls by reason.",
             [({**b, "reason": r}, timeouts if r == "timeout" else 0) for r in FAILURE_REASONS])
    e.family("bms_exporter_build_info", "gauge", "Build of this exporter; always 1.",
             [({"version": "0.0.0-stand-in", "revision": "none", "swift_version": "none"}, 1)])
    return e.text()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            body, kind = render(time.time()).encode(), "text/plain; version=0.0.4; charset=utf-8"
        elif self.path in ("/", "/-/healthy"):
            body, kind = b"bms_exporter stand-in\n", "text/plain; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web.listen-address", dest="listen", default="127.0.0.1:9882")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
