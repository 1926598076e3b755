#!/usr/bin/env python3
"""A stand-in for `bms_exporter serve --simulate`, for developing and
testing the dashboard, rules and Alertmanager config without the binary.

It serves, on /metrics, every metric family of the metric contract (README.md, Metrics)
for one battery (4 cells, 2 temperature sensors) in text format 0.0.4,
including the energy and charge counters, which it integrates between
readings like the exporter does. Python 3 stdlib only.

    stand_in_exporter.py --web.listen-address 127.0.0.1:9882
    stand_in_exporter.py --simulate=silent-low --poll.interval 1s --simulate.silence 30

Without a scenario it serves battery "house" with slowly drifting values;
with --simulate=SCENARIO it serves battery "simulated" following the same
scenarios as `bms_exporter serve --simulate=SCENARIO` (see docs/alerts.md),
advancing one step per poll interval.
"""

import argparse
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOMINAL = 100.0
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

SCENARIOS = ("normal", "discharge", "silent-low", "imbalance", "cold-charge", "protection")
MAX_AGE_POLLS = 3  # a reading older than this many poll intervals is not served


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

    def summary(self, name, help_text, labels, total, count):
        """A summary without quantiles: _sum and _count."""
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} summary")
        pairs = ",".join(f'{k}="{v}"' for k, v in labels.items())
        self.lines.append(f"{name}_sum{{{pairs}}} {float(total)!r}")
        self.lines.append(f"{name}_count{{{pairs}}} {count!r}")

    def text(self):
        return "\n".join(self.lines) + "\n"


class Reading:
    """What one poll of the battery returned."""

    def __init__(self, soc, current, cells, temps, protections=(), discharge_fet=True):
        self.soc = soc
        self.current = current
        self.cells = cells
        self.temps = temps
        self.protections = set(protections)
        self.discharge_fet = discharge_fet
        self.voltage = sum(cells)


def flat_cells(soc, offset=0.0):
    """LiFePO4-like cell voltages for a state of charge: steep at both knees."""
    if soc < 0.1:
        base = 2.9 + 3.0 * soc
    elif soc > 0.95:
        base = 3.35 + 2.0 * (soc - 0.95)
    else:
        base = 3.2 + 0.15 * (soc - 0.1) / 0.85
    return [base + offset + 0.002 * i for i in range(CELLS)]


def scenario_reading(scenario, poll, silence, t):
    """The reading at poll number `poll` (t seconds in), or None while the BMS is silent."""
    if scenario == "normal":
        current = 8.0 * math.sin(t / 60.0)  # charges, then discharges
        cells = [3.30 + 0.01 * i + 0.005 * math.sin(t / 30.0 + i) for i in range(CELLS)]
        remaining = 60.0 + 5.0 * math.sin(t / 60.0)
        temps = [18.0 + math.sin(t / 90.0), 21.5 + 0.5 * math.sin(t / 45.0)]
        return Reading(round(remaining / NOMINAL, 2), current, cells, temps)
    if scenario == "discharge":
        soc = round(max(0.40 - 0.05 * poll, 0.03), 2)
        return Reading(soc, -10.0, flat_cells(soc), [20.0, 21.0])
    if scenario == "silent-low":
        low_from = 7           # 0.40 - 7 * 0.05 = 0.05
        silent_from = low_from + 5
        if poll < silent_from:
            soc = round(max(0.40 - 0.05 * poll, 0.05), 2)
            return Reading(soc, -10.0, flat_cells(soc), [20.0, 21.0])
        if poll < silent_from + silence:
            return None
        return Reading(0.85, 5.0, flat_cells(0.85), [20.0, 21.0])
    if scenario == "imbalance":
        cells = flat_cells(0.5)
        cells[1] -= 0.25
        return Reading(0.5, -2.0, cells, [20.0, 21.0])
    if scenario == "cold-charge":
        return Reading(0.5, 5.0, flat_cells(0.5), [-5.0, -4.0])
    if scenario == "protection":
        tripped = poll < 20
        return Reading(0.6, 0.0 if tripped else -3.0, flat_cells(0.6), [20.0, 21.0],
                       protections=("short_circuit",) if tripped else (), discharge_fet=not tripped)
    raise ValueError(scenario)


class Battery:
    """Polls the scenario once per poll interval (computed lazily from the
    wall clock) and integrates energy and charge between good readings."""

    def __init__(self, scenario, interval, silence, name):
        self.scenario, self.interval, self.silence, self.name = scenario, interval, silence, name
        self.started = time.time()
        self.polls = -1
        self.last = None            # (time, Reading) of the latest good poll
        self.latest_ok = False      # whether the latest poll answered
        self.bank = ""
        self.counters = {"charge_j": 0.0, "discharge_j": 0.0, "charge_ah": 0.0, "discharge_ah": 0.0, "gaps": 0}
        self.lock = threading.Lock()

    def advance(self, now):
        with self.lock:
            target = int((now - self.started) / self.interval)
            while self.polls < target:
                self.polls += 1
                at = self.started + self.polls * self.interval
                reading = scenario_reading(self.scenario, self.polls, self.silence, at - self.started)
                self.latest_ok = reading is not None
                if reading is None:
                    continue
                if self.last is not None:
                    self.integrate(self.last, (at, reading))
                self.last = (at, reading)
            return self.last, self.latest_ok, self.counters.copy()

    def integrate(self, before, after):
        (t0, r0), (t1, r1) = before, after
        dt = t1 - t0
        if dt > MAX_AGE_POLLS * self.interval:
            self.counters["gaps"] += 1
            return
        power = (r0.voltage * r0.current + r1.voltage * r1.current) / 2 * dt
        charge = (r0.current + r1.current) / 2 * dt / 3600
        self.counters["charge_j" if power > 0 else "discharge_j"] += abs(power)
        self.counters["charge_ah" if charge > 0 else "discharge_ah"] += abs(charge)


def render(battery, now):
    last, latest_ok, counters = battery.advance(now)
    b = {"battery": battery.name}
    fresh = last is not None and now - last[0] <= MAX_AGE_POLLS * battery.interval
    up = int(fresh and latest_ok)
    t = now - battery.started
    e = Exposition()
    e.family("bms_up", "gauge", "1 when the latest poll succeeded and is fresher than max age.", [(b, up)])
    if fresh:
        device(e, b, last[1], t)
    e.family("bms_connected", "gauge", "1 while the BLE link is up.", [(b, up)])
    e.family("bms_rssi_dbm", "gauge", "Received signal strength as BlueZ reports it.", [(b, -67 + 3 * math.sin(t / 20.0))])
    if last is not None:
        e.family("bms_last_success_timestamp_seconds", "gauge", "Unix time of the last good reading.",
                 [(b, math.floor(last[0]))])
    e.family("bms_poll_duration_seconds", "gauge", "Duration of the last poll.", [(b, 0.35 + 0.05 * math.sin(t))])
    e.family("bms_poll_failures_total", "counter", "Failed polls by reason.",
             [({**b, "reason": r}, int(t / 5) if r == "timeout" else 0) for r in FAILURE_REASONS])
    e.family("bms_charge_energy_joules_total", "counter", "Energy into the battery, integrated between good readings.",
             [(b, counters["charge_j"])])
    e.family("bms_discharge_energy_joules_total", "counter", "Energy out of the battery, integrated between good readings.",
             [(b, counters["discharge_j"])])
    e.family("bms_charge_ampere_hours_total", "counter", "Charge into the battery.", [(b, counters["charge_ah"])])
    e.family("bms_discharge_ampere_hours_total", "counter", "Charge out of the battery.", [(b, counters["discharge_ah"])])
    e.family("bms_integration_gaps_total", "counter", "Gaps between good readings too long to integrate.",
             [(b, counters["gaps"])])
    e.family("bms_info", "gauge", "Static facts about the BMS; always 1.",
             [({**b, "address": "A4:C1:38:12:34:56", "model": "JBD-SP04S034-L4S-200A-B-U",
                "software_version": "2.5", "manufacture_date": "2020-08-10",
                "bank": battery.bank, "transport": "simulated"}, 1)])
    a = {"adapter": "hci0"}
    e.family("bms_adapter_up", "gauge", "1 when the Bluetooth adapter is present in BlueZ and powered.", [(a, 1)])
    e.family("bms_adapter_connections", "gauge", "Links the exporter holds on the adapter now.", [(a, up)])
    e.summary("bms_adapter_connect_wait_seconds", "Time connects waited for their turn on the adapter.",
              a, 0.02 * int(t / 10), int(t / 10))
    e.family("bms_adapter_resets_total", "counter", "Times the exporter power-cycled the adapter.", [(a, 0)])
    e.family("bms_exporter_build_info", "gauge", "Build of this exporter; always 1.",
             [({"version": "0.0.0-stand-in", "revision": "none", "swift_version": "none"}, 1)])
    return e.text()


def device(e, b, r, t):
    """The device series of one reading."""
    balancing_cell = int(t / 10) % CELLS + 1          # one cell balancing at a time
    e.family("bms_voltage_volts", "gauge", "Pack voltage (latest reading, polled in the background).", [(b, r.voltage)])
    e.family("bms_current_amperes", "gauge", "Pack current, positive while charging.", [(b, r.current)])
    e.family("bms_remaining_capacity_ampere_hours", "gauge", "Remaining capacity.", [(b, r.soc * NOMINAL)])
    e.family("bms_nominal_capacity_ampere_hours", "gauge", "Nominal capacity.", [(b, NOMINAL)])
    e.family("bms_full_charge_capacity_ampere_hours", "gauge", "Full-charge capacity (V11 boards).", [(b, 98.5)])
    e.family("bms_state_of_charge_ratio", "gauge", "State of charge (RSOC / 100).", [(b, r.soc)])
    e.family("bms_charge_cycles_total", "counter", "Charge cycles as counted by the BMS.", [(b, 42)])
    e.family("bms_cell_voltage_volts", "gauge", "Cell voltage.",
             [({**b, "cell": str(i + 1)}, v) for i, v in enumerate(r.cells)])
    e.family("bms_temperature_celsius", "gauge", "Temperature sensor reading.",
             [({**b, "sensor": str(i + 1)}, v) for i, v in enumerate(r.temps)])
    e.family("bms_cell_balancing", "gauge", "1 while that cell's balancer is on.",
             [({**b, "cell": str(i + 1)}, int(i + 1 == balancing_cell)) for i in range(CELLS)])
    e.family("bms_protection_active", "gauge", "1 while that protection is set.",
             [({**b, "protection": p}, int(p in r.protections)) for p in PROTECTIONS])
    e.family("bms_alarm_active", "gauge", "1 while that alarm is set (V11 boards).",
             [({**b, "alarm": a}, 0) for a in ALARMS])
    e.family("bms_mosfet_enabled", "gauge", "1 while that MOSFET is on.",
             [({**b, "mosfet": "charge"}, 1), ({**b, "mosfet": "discharge"}, int(r.discharge_fet))])
    e.family("bms_protection_events_total", "counter", "Protection events counted by the BMS (register 0xAA).",
             [({**b, "protection": p}, 3 if p == "cell_overvoltage" else 0) for p in PROTECTION_EVENTS])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            body = render(self.server.battery, time.time()).encode()
            kind = "text/plain; version=0.0.4; charset=utf-8"
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


def duration(text):
    """Seconds of a duration such as "500ms", "1s" or "1m"."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", text)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive duration like 500ms, 1s or 1m: {text!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--web.listen-address", dest="listen", default="127.0.0.1:9882")
    parser.add_argument("--simulate", nargs="?", const="", default="", metavar="SCENARIO",
                        help=f"one of {', '.join(SCENARIOS)}; bare or absent: drifting values")
    parser.add_argument("--poll.interval", dest="interval", type=duration, default=1.0)
    parser.add_argument("--simulate.silence", dest="silence", type=int, default=60,
                        help="polls the BMS stays silent in the silent-low scenario")
    args = parser.parse_args()
    if args.simulate and args.simulate not in SCENARIOS:
        parser.error(f"--simulate: unknown scenario {args.simulate!r}; known: {', '.join(SCENARIOS)}")
    if args.silence < 0:
        parser.error("--simulate.silence must be 0 or more polls")
    scenario = args.simulate or "normal"
    name = "simulated" if args.simulate else "house"
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.battery = Battery(scenario, args.interval, args.silence, name)
    server.serve_forever()


if __name__ == "__main__":
    main()
