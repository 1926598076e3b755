#!/usr/bin/env python3
"""Integration test: the rules and the Grafana dashboard against a real
Prometheus scraping a running exporter.

    BMS_EXPORTER_BIN=.build/release/bms_exporter deploy/tests/test_prometheus_integration.py
    deploy/tests/test_prometheus_integration.py --stand-in   # before the binary exists

It starts `$BMS_EXPORTER_BIN serve --simulate` (or, with --stand-in and
BMS_EXPORTER_BIN unset, stand_in_exporter.py) and a `prometheus` on free
loopback ports, scraping every second and evaluating the rule files every
second. Once data flows it requires each of these to return data:
  - the dashboard's `battery` variable query, label_values(bms_up, battery);
  - every dashboard panel target, with Grafana's variables substituted;
  - every recording rule's output series, or for a rule that records only
    under a condition (a threshold, a configured bank) the series it is
    built on;
  - every alert expression with its threshold comparison and any `unless`
    clause removed (and absent(x) read as x), i.e. the series the alert is
    built on;
except that queries built on V11-only families (full-charge capacity,
alarms) are skipped and listed when the exporter does not serve them;
and every rule must be loaded and evaluate without error.
Checks are retried until they pass or --timeout runs out (polling the API,
no fixed sleeps). Python 3 stdlib only. Exits 1 on any failure.
"""

import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
DEPLOY_DIR = os.path.dirname(TESTS_DIR)
REPO_DIR = os.path.dirname(DEPLOY_DIR)
RULE_FILES = sorted(glob.glob(os.path.join(DEPLOY_DIR, "prometheus", "rules", "*.rules.yml")))
DASHBOARDS = sorted(glob.glob(os.path.join(REPO_DIR, "grafana", "*.json")))
JOB = "bms_exporter"  # the job name the exporter alerts select on

# What Grafana would put in for its built-in variables, given 1 s scrapes.
GRAFANA_VARS = {
    "__rate_interval": "10s",
    "__interval": "2s",
    "__interval_ms": "2000",
    "__range": "1m",
    "__range_s": "60",
    "__range_ms": "60000",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)(?::\w+)?\]\]|\$(\w+)")
# A comparison against a number, e.g. "> 0.1", "== 0", "< bool 2.8"; the
# look-behind keeps label matchers (=~, !=") out.
THRESHOLD = re.compile(r"\s*(?<![=!~])(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# Recording rules that record only under a condition a simulated battery
# need not meet; for these the series they are built on must exist.
CONDITIONAL_RULES = {
    "battery:bms_time_to_empty_seconds:avg5m": "only while discharging",
    "battery:bms_time_to_full_seconds:avg5m": "only while charging",
    "bank:bms_state_of_charge_ratio:capacity_weighted": "only with a bank configured",
    "bank:bms_current_amperes:sum": "only with a bank configured",
    "bank:bms_power_watts:sum": "only with a bank configured",
    "bank:bms_remaining_capacity_ampere_hours:sum": "only with a bank configured",
}
# Served only by boards with the V11 registers; a simulated battery that is
# not one makes panels and rules built on them conditional.
V11_ONLY = ("bms_full_charge_capacity_ampere_hours", "bms_alarm_active")
V11_RULES = ("battery:bms_state_of_health:ratio",)  # empty without full-charge capacity
# Served only with Bluetooth batteries (one series per adapter in use); a simulated
# battery has no adapter, which makes the adapter panels conditional.
BLUETOOTH_ONLY = "bms_adapter_"
ABSENT = re.compile(r"\s*absent\((.*)\)\s*", re.S)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def wait_until(what, predicate, deadline):
    """Polls predicate() until it returns a true value or deadline passes."""
    delay = 0.05
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(delay)  # back-off between polls, not a synchronisation point
        delay = min(delay * 2, 0.5)


class Processes:
    """Starts processes and stops exactly those, by their own handles."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.started = []

    def start(self, name, argv):
        log = open(os.path.join(self.workdir, f"{name}.log"), "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started.append((name, proc, log))
        return proc

    def check_alive(self):
        for name, proc, _ in self.started:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early with status {proc.returncode}")

    def log_tail(self, lines=30):
        out = []
        for name, _, log in self.started:
            log.flush()
            with open(log.name, errors="replace") as f:
                tail = f.read().splitlines()[-lines:]
            out.append(f"--- last lines of {name}'s log ---\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self):
        for _, proc, _ in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for _, _, log in self.started:
            log.close()


class Prometheus:
    def __init__(self, base):
        self.base = base

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        _, body = http_get(url)
        reply = json.loads(body)
        if reply.get("status") != "success":
            raise ValueError(reply.get("error", "query failed"))
        return reply["data"]

    def has_data(self, expr):
        """Returns None if expr gives data now, else why not."""
        try:
            data = self.api("query", query=expr)
        except urllib.error.HTTPError as e:
            return f"HTTP {e.code}: {json.loads(e.read()).get('error', '')}"
        except ValueError as e:
            return str(e)
        if data["resultType"] in ("scalar", "string") or data["result"]:
            return None
        return "no data"


def panel_targets(dashboard):
    """Yields (panel title, target) for every visible query of every panel, rows included."""
    def walk(panels):
        for panel in panels:
            yield from walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr") and not target.get("hide"):
                    yield panel.get("title", "?"), target
    yield from walk(dashboard.get("panels", []))


def substitute(expr, values):
    def repl(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in values:
            raise KeyError(name)
        return values[name]
    return VARIABLE.sub(repl, expr)


def alert_base(expr):
    """The alert expression without its thresholds: the series it is built on."""
    expr = THRESHOLD.sub("", expr)
    expr = re.sub(r"\s+unless\b.*", "", expr, flags=re.S)  # what is excluded need not exist
    m = ABSENT.fullmatch(expr)
    return m.group(1) if m else expr


def relax(expr):
    """A recording rule's expression without the conditions that can leave it
    empty: threshold filters and the requirement of a configured bank."""
    return THRESHOLD.sub("", expr).replace('{bank!=""}', "")


def rule_names_in_files():
    names = set()
    for path in RULE_FILES:
        with open(path) as f:
            names.update(re.findall(r"^\s*-\s*(?:record|alert):\s*(\S+)", f.read(), re.M))
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stand-in", action="store_true",
                        help="use stand_in_exporter.py instead of $BMS_EXPORTER_BIN (which must be unset)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for everything to pass")
    parser.add_argument("--prometheus", default=os.environ.get("PROMETHEUS", "prometheus"))
    args = parser.parse_args()

    binary = os.environ.get("BMS_EXPORTER_BIN")
    if args.stand_in and binary:
        parser.error("--stand-in is for when BMS_EXPORTER_BIN is unset; unset it or drop --stand-in")
    if not args.stand_in and not binary:
        parser.error("set BMS_EXPORTER_BIN to the built exporter (or pass --stand-in to use the stand-in)")
    if not shutil.which(args.prometheus):
        parser.error(f"{args.prometheus} not found (apt-get install prometheus)")
    if not RULE_FILES or not DASHBOARDS:
        parser.error("no rule files or dashboards found")

    workdir = tempfile.mkdtemp(prefix="bms-integration-")
    procs = Processes(workdir)
    checks = {}  # name -> promql
    failed = []
    try:
        deadline = time.monotonic() + args.timeout
        exporter_port, prom_port = free_port(), free_port()
        listen = f"127.0.0.1:{exporter_port}"
        if binary:
            argv = [os.path.abspath(binary), "serve", "--simulate", "--web.listen-address", listen]
        else:
            argv = [sys.executable, os.path.join(TESTS_DIR, "stand_in_exporter.py"), "--web.listen-address", listen]
        print("exporter:", " ".join(argv))
        procs.start("exporter", argv)
        wait_until("the exporter's /metrics",
                   lambda: procs.check_alive() or http_get(f"http://{listen}/metrics")[0] == 200, deadline)

        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            # JSON is YAML: no YAML library needed.
            json.dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": RULE_FILES,
                "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [listen]}]}],
            }, f, indent=2)
        prom_listen = f"127.0.0.1:{prom_port}"
        procs.start("prometheus", [
            args.prometheus, f"--config.file={config}", f"--storage.tsdb.path={workdir}/data",
            f"--web.listen-address={prom_listen}", "--storage.tsdb.retention.time=1h"])
        prom = Prometheus(f"http://{prom_listen}")
        wait_until("Prometheus to be ready",
                   lambda: procs.check_alive() or http_get(f"http://{prom_listen}/-/ready")[0] == 200, deadline)

        # The dashboard's variables: label_values(bms_up, instance), then
        # label_values(bms_up{instance=~"$instance"}, battery); the bank
        # variable's "All" is .+ (no bank at all when none is configured).
        def choice(names):  # a regex inside a PromQL string, as Grafana writes it
            return "(" + "|".join(re.escape(n).replace("\\", "\\\\") for n in names) + ")"
        instances = wait_until("an instance in label_values(bms_up, instance)",
                               lambda: prom.api("label/instance/values", **{"match[]": "bms_up"}), deadline)
        batteries = wait_until("a battery in label_values(bms_up, battery)",
                               lambda: prom.api("label/battery/values",
                                                **{"match[]": f'bms_up{{instance=~"{choice(instances)}"}}'}), deadline)
        print("instances:", ", ".join(instances), "batteries:", ", ".join(batteries))
        values = dict(GRAFANA_VARS)
        values["instance"] = choice(instances)
        values["battery"] = choice(batteries)
        values["bank"] = ".+"

        # Rules, as Prometheus loaded them.
        def evaluated_groups():
            groups = prom.api("rules")["groups"]
            # An unevaluated group reports Go's zero time, 0001-01-01.
            return groups if groups and all(not g["lastEvaluation"].startswith("0001") for g in groups) else None
        groups = wait_until("the rule groups to be evaluated", evaluated_groups, deadline)
        rules = [r for g in groups for r in g["rules"]]
        loaded = {r["name"] for r in rules}
        missing = rule_names_in_files() - loaded
        if missing:
            failed.append(f"rules in the files but not loaded by Prometheus: {sorted(missing)}")
        # V11-only families this exporter does not serve at all.
        exposition = wait_until("a device reading on the exporter's /metrics",
                                lambda: (lambda t: t if "\nbms_voltage_volts{" in t else None)(
                                    http_get(f"http://{listen}/metrics")[1].decode()), deadline)
        unserved = {m for m in V11_ONLY if f"\n{m}{{" not in exposition}
        if "bms_full_charge_capacity_ampere_hours" in unserved:
            unserved |= set(V11_RULES)
        if unserved:
            print("not a V11 board: conditional on", ", ".join(sorted(unserved)))

        def needs_v11(text):
            return any(re.search(re.escape(m) + r"(?![\w:])", text) for m in unserved)

        no_adapters = f"\n{BLUETOOTH_ONLY}up{{" not in exposition
        if no_adapters:
            print("no Bluetooth adapter in use: conditional on", BLUETOOTH_ONLY + "*")

        for r in rules:
            if r["name"] in unserved:
                print(f"  cond {r['type']} {r['name']}: V11 boards only")
                continue
            if r["type"] == "recording":
                if r["name"] in CONDITIONAL_RULES:
                    checks[f"recording rule {r['name']} (built on)"] = relax(r["query"])
                else:
                    checks[f"recording rule {r['name']}"] = r["name"]
            else:
                checks[f"alert {r['name']} (built on)"] = alert_base(r["query"])

        for path in DASHBOARDS:
            with open(path) as f:
                dashboard = json.load(f)
            for title, target in panel_targets(dashboard):
                name = f"panel {title!r} {target.get('refId', '')} ({os.path.basename(path)})"
                if needs_v11(target["expr"]):
                    print(f"  cond {name}: V11 boards only")
                    continue
                if no_adapters and BLUETOOTH_ONLY in target["expr"]:
                    print(f"  cond {name}: Bluetooth batteries only")
                    continue
                conditional = [r for r in CONDITIONAL_RULES if r in target["expr"]]
                if conditional:
                    # Its data depends on the condition; the rule's inputs are checked above.
                    print(f"  cond {name}: {CONDITIONAL_RULES[conditional[0]]}")
                    continue
                try:
                    checks[name] = substitute(target["expr"], values)
                except KeyError as e:
                    failed.append(f"{name}: unknown variable ${e.args[0]} in {target['expr']}")

        # Poll until every check has data, or time is up.
        pending = dict(checks)
        reasons = {}
        while pending and time.monotonic() < deadline:
            procs.check_alive()
            for name, expr in list(pending.items()):
                reason = prom.has_data(expr)
                if reason is None:
                    del pending[name]
                else:
                    reasons[name] = reason
            if pending:
                time.sleep(0.5)  # next scrape/evaluation round is 1 s away
        for name, expr in checks.items():
            if name in pending:
                failed.append(f"{name}: {reasons[name]}: {expr}")
            else:
                print(f"  ok   {name}")

        for r in prom.api("rules")["groups"]:
            for rule in r["rules"]:
                if rule.get("health") != "ok":
                    failed.append(f"rule {rule['name']} is {rule.get('health')}: {rule.get('lastError', '')}")
    except (TimeoutError, RuntimeError) as e:
        failed.append(str(e))
    finally:
        logs = procs.log_tail()
        procs.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    for message in failed:
        print(f"  FAIL {message}")
    if failed:
        print(logs)
        print(f"integration: {len(failed)} problem(s); {len(checks)} queries checked")
        return 1
    print(f"integration: all {len(checks)} queries returned data")
    return 0


if __name__ == "__main__":
    sys.exit(main())
