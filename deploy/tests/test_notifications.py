#!/usr/bin/env python3
"""End-to-end notification test: from a battery that dies low to a phone.

    BMS_EXPORTER_BIN=.build/debug/bms_exporter deploy/tests/test_notifications.py
    deploy/tests/test_notifications.py --stand-in    # stand_in_exporter.py instead

Runs, on free loopback ports:
  - the exporter, `serve --simulate=silent-low --poll.interval 1s`: a battery
    that discharges to 5 %, goes silent, and comes back charged (85 %);
  - a real Prometheus with the shipped rule files, scraping and evaluating
    every second, with every `for:` of the rules divided by 60 (minutes
    become seconds; the expressions are untouched);
  - a real Alertmanager with the shipped deploy/alertmanager/alertmanager.yml
    (its routes and inhibit rules), its timers cut to seconds and every
    receiver replaced by a webhook to
  - a webhook receiver in this process, standing in for the phone.

It requires, in this order:
  1. a notification that BMSStateOfChargeCritical fires for the battery,
     with its runbook link;
  2. BMSStateOfChargeLow inhibited by it in Alertmanager (one page per event);
  3. once the battery is silent (bms_up 0, its SoC no longer served), the
     critical alert still firing, and a notification that it is unreachable,
     with no resolution of the critical alert before it is read again;
  4. a notification that the critical alert resolved, sent only after the
     battery is read again at 85 %.
Exits 0 when all hold, 1 otherwise, and 77 (skipped) when the binary does not
know `--simulate=silent-low` yet. Needs prometheus, prometheus-alertmanager
and PyYAML (python3-yaml). Bounded by --timeout (default 170 s).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_prometheus_integration import (  # noqa: E402  (shared helpers)
    DEPLOY_DIR, JOB, TESTS_DIR, Processes, Prometheus, free_port, http_get, wait_until)

try:
    import yaml
except ImportError:
    yaml = None

SKIPPED = 77
SCENARIO = "silent-low"
SILENCE_POLLS = 40        # seconds of silence at one poll a second
TIME_SCALE = 60           # rule `for:` durations are divided by this
CRITICAL, LOW, UNREACHABLE = "BMSStateOfChargeCritical", "BMSStateOfChargeLow", "BMSBatteryUnreachable"
DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(text):
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


def scaled_rules(workdir):
    """Copies of the shipped rule files with every `for:` divided by TIME_SCALE."""
    paths = []
    rules_dir = os.path.join(DEPLOY_DIR, "prometheus", "rules")
    for name in sorted(os.listdir(rules_dir)):
        if not name.endswith(".rules.yml"):
            continue
        with open(os.path.join(rules_dir, name)) as f:
            doc = yaml.safe_load(f)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = f"{max(1, round(seconds(rule['for']) * 1000 / TIME_SCALE))}ms"
        path = os.path.join(workdir, name)
        with open(path, "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        paths.append(path)
    return paths


def alertmanager_config(workdir, webhook_url):
    """The shipped config with fast timers and every receiver sent to webhook_url."""
    with open(os.path.join(DEPLOY_DIR, "alertmanager", "alertmanager.yml")) as f:
        doc = yaml.safe_load(f)

    def fast(route):
        route["group_wait"] = "1s"
        route["group_interval"] = "1s"
        for child in route.get("routes", []):
            fast(child)
    fast(doc["route"])
    doc["receivers"] = [{"name": r["name"], "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
                        for r in doc["receivers"]]
    path = os.path.join(workdir, "alertmanager.yml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return path


class Phone:
    """The webhook receiver: keeps every notification with the time it came."""

    def __init__(self):
        self.received = []   # (monotonic time, payload)
        self.changed = threading.Condition()
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsable": body.decode(errors="replace")}
                with phone.changed:
                    phone.received.append((time.monotonic(), payload))
                    phone.changed.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, what, predicate, deadline):
        """Blocks until some notification satisfies predicate(alert, payload); returns (time, alert)."""
        with self.changed:
            seen = 0
            while True:
                for at, payload in self.received[seen:]:
                    for alert in payload.get("alerts", []):
                        if predicate(alert):
                            return at, alert
                seen = len(self.received)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for a notification: {what}")
                self.changed.wait(left)

    def alerts(self):
        with self.changed:
            return [(at, a) for at, p in self.received for a in p.get("alerts", [])]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def is_alert(name, status):
    return lambda a: a["labels"].get("alertname") == name and a["status"] == status


def start_exporter(procs, args, listen, deadline):
    """Starts the exporter; returns None, or a reason to skip if the binary
    does not know the scenario."""
    scenario_args = [f"--simulate={SCENARIO}", "--poll.interval", "1s",
                     "--simulate.silence", str(SILENCE_POLLS), "--web.listen-address", listen]
    if args.stand_in:
        argv = [sys.executable, os.path.join(TESTS_DIR, "stand_in_exporter.py")] + scenario_args
    else:
        argv = [os.path.abspath(os.environ["BMS_EXPORTER_BIN"]), "serve"] + scenario_args
    print("exporter:", " ".join(argv))
    proc = procs.start("exporter", argv)

    def ready():
        if proc.poll() is not None:
            return "exited"
        return http_get(f"http://{listen}/metrics")[0] == 200
    if wait_until("the exporter's /metrics", ready, deadline) == "exited":
        log = procs.log_tail(10)
        # A usage error (64 from the argument parser, 2 from the exporter's own
        # checks) naming the flag: the binary predates the scenarios.
        if not args.stand_in and proc.returncode in (2, 64) and "--simulate" in log:
            return f"the exporter rejects --simulate={SCENARIO} (exit {proc.returncode}):\n{log}"
        raise RuntimeError(f"the exporter exited with status {proc.returncode}\n{log}")
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stand-in", action="store_true",
                        help="use stand_in_exporter.py instead of $BMS_EXPORTER_BIN (which must be unset)")
    parser.add_argument("--timeout", type=float, default=170, help="seconds for the whole test")
    parser.add_argument("--prometheus", default=os.environ.get("PROMETHEUS", "prometheus"))
    parser.add_argument("--alertmanager", default=os.environ.get("ALERTMANAGER", "prometheus-alertmanager"))
    args = parser.parse_args()
    binary = os.environ.get("BMS_EXPORTER_BIN")
    if args.stand_in and binary:
        parser.error("--stand-in is for when BMS_EXPORTER_BIN is unset; unset it or drop --stand-in")
    if not args.stand_in and not binary:
        parser.error("set BMS_EXPORTER_BIN to the built exporter (or pass --stand-in to use the stand-in)")
    for tool, package in ((args.prometheus, "prometheus"), (args.alertmanager, "prometheus-alertmanager")):
        if not shutil.which(tool):
            parser.error(f"{tool} not found (apt-get install {package})")
    if yaml is None:
        parser.error("PyYAML is missing (apt-get install python3-yaml)")

    deadline = time.monotonic() + args.timeout
    workdir = tempfile.mkdtemp(prefix="bms-notify-")
    procs = Processes(workdir)
    phone = Phone()
    failed = []
    try:
        exporter = f"127.0.0.1:{free_port()}"
        skip = start_exporter(procs, args, exporter, deadline)
        if skip:
            print(f"SKIP: {skip}")
            return SKIPPED

        am = f"127.0.0.1:{free_port()}"
        procs.start("alertmanager", [
            args.alertmanager, f"--config.file={alertmanager_config(workdir, phone.url)}",
            f"--storage.path={workdir}/am", f"--web.listen-address={am}",
            "--cluster.listen-address="])  # no gossip port: a single instance
        prom_listen = f"127.0.0.1:{free_port()}"
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            json.dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": scaled_rules(workdir),
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am]}]}]},
                "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [exporter]}]}],
            }, f, indent=2)
        procs.start("prometheus", [
            args.prometheus, f"--config.file={config}", f"--storage.tsdb.path={workdir}/data",
            f"--web.listen-address={prom_listen}", "--rules.alert.resend-delay=1s"])
        prom = Prometheus(f"http://{prom_listen}")
        for name, url in (("Alertmanager", f"http://{am}/-/ready"), ("Prometheus", f"http://{prom_listen}/-/ready")):
            wait_until(f"{name} to be ready", lambda u=url: procs.check_alive() or http_get(u)[0] == 200, deadline)

        # 1. The low battery pages, with its runbook.
        fired_at, alert = phone.wait_for(f"{CRITICAL} firing", is_alert(CRITICAL, "firing"), deadline)
        battery = alert["labels"].get("battery")
        print(f"  ok   {CRITICAL} notified for battery {battery}: {alert['annotations'].get('summary')}")
        if alert["labels"].get("severity") != "critical":
            failed.append(f"{CRITICAL} has severity {alert['labels'].get('severity')!r}")
        if not alert["annotations"].get("runbook_url", "").endswith("#bmsstateofchargecritical"):
            failed.append(f"{CRITICAL} runbook_url is {alert['annotations'].get('runbook_url')!r}")

        # 2. The warning about the same battery is inhibited, not paged.
        def low_inhibited():
            url = f"http://{am}/api/v2/alerts?" + urllib.parse.urlencode(
                {"filter": f'alertname="{LOW}"', "inhibited": "true", "active": "true"})
            alerts = json.loads(http_get(url)[1])
            return any(a["status"]["inhibitedBy"] for a in alerts)
        wait_until(f"{LOW} to be inhibited in Alertmanager", low_inhibited, deadline)
        print(f"  ok   {LOW} is inhibited by {CRITICAL}")

        # 3. Silent: bms_up 0 and the SoC no longer served, yet still critical.
        def silent_and_firing():
            procs.check_alive()
            gone = prom.has_data(f'bms_state_of_charge_ratio{{battery="{battery}"}}') is not None
            down = prom.has_data(f'bms_up{{battery="{battery}"}} == 0') is None
            firing = prom.has_data(f'ALERTS{{alertname="{CRITICAL}",alertstate="firing",battery="{battery}"}}') is None
            return gone and down and firing
        wait_until(f"{CRITICAL} firing while the battery is silent", silent_and_firing, deadline)
        print(f"  ok   {CRITICAL} still firing while the battery is silent")
        phone.wait_for(f"{UNREACHABLE} firing", is_alert(UNREACHABLE, "firing"), deadline)
        print(f"  ok   {UNREACHABLE} notified")
        # Unreachable takes 10 (scaled) minutes of silence: the critical alert
        # must still fire now, not only in the moment the readings vanished.
        if not silent_and_firing():
            failed.append(f"{CRITICAL} no longer firing once the battery was unreachable")
        else:
            print(f"  ok   {CRITICAL} still firing once the battery is unreachable")

        # 4. Resolved only once the battery is read again, charged.
        def back_charged():
            procs.check_alive()
            return prom.has_data(f'bms_state_of_charge_ratio{{battery="{battery}"}} > 0.8') is None
        early = [a for at, a in phone.alerts() if is_alert(CRITICAL, "resolved")(a)]
        if early:
            failed.append(f"{CRITICAL} resolved while the battery was silent")
        back_at = wait_until("the battery to be read again at 85 %", back_charged, deadline) and time.monotonic()
        resolved_at, _ = phone.wait_for(f"{CRITICAL} resolved", is_alert(CRITICAL, "resolved"), deadline)
        early = [at for at, a in phone.alerts() if is_alert(CRITICAL, "resolved")(a) and at < back_at - 2]
        if early:
            failed.append(f"{CRITICAL} resolved {back_at - early[0]:.0f} s before the battery was read again")
        else:
            print(f"  ok   {CRITICAL} resolved {resolved_at - back_at:.1f} s after the battery came back, "
                  f"{resolved_at - fired_at:.0f} s after it fired")
    except (TimeoutError, RuntimeError) as e:
        failed.append(str(e))
    finally:
        logs = procs.log_tail()
        procs.stop()
        phone.stop()
        notifications = phone.received
        shutil.rmtree(workdir, ignore_errors=True)

    for message in failed:
        print(f"  FAIL {message}")
    if failed:
        print("notifications received:")
        for at, payload in notifications:
            for a in payload.get("alerts", []):
                print(f"  {a['status']:8} {a['labels'].get('alertname')} {a['labels'].get('battery', '')}")
        print(logs)
        return 1
    print(f"notifications: all checks passed ({len(notifications)} notifications received)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
