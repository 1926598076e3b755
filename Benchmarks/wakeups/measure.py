"""What one poll costs a deployed exporter: wake-ups, CPU, turnaround and resident memory.

For every subject (bms_exporter's release binary, and a Python peer on aiobmsble + bleak +
prometheus_client) and every link mode (kept link; connect per poll), this starts a private
dbus-daemon and the fake BlueZ with its normal delays (the reply 50 ms after the request, in
20-byte notifications), one battery, and the subject polling it every second. It then counts
what the subject's process spends over N polls:

- wake-ups: voluntary context switches summed over /proc/PID/task/*/status. A thread that
  exits inside the window takes its count with it (the kernel folds it into the process's
  rusage, which only the process itself can read), so the number of exited threads is
  printed beside it; 0 means the sum is complete.
- CPU: the run time of every thread from /proc/PID/task/*/schedstat (nanoseconds; exited
  threads as above), cross-checked against utime + stime of /proc/PID/stat (clock ticks,
  exited threads included).
- turnaround: from the 0x03 request to the 0x04 request, both as the fake logged them: the
  50 ms reply delay plus the subject's handling of the reply.
- resident memory (VmRSS, with its anonymous and file parts) at the end.

Both snapshots are taken half a second after a 0x03 request, between polls, so the window
holds exactly N polls and their idle gaps. Polls are counted from the fake's write log; the
harness's own sampling runs in this process and is not counted.

Usage: measure.py --binary PATH [--peer-python PATH] [--polls N] [--subjects exporter,peer]
                  [--modes kept,per-poll]
"""

import argparse
import datetime
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "Tests", "FakeBlueZ"))

from tests.harness import FakeBus, _die_with_parent, read_line, stop  # noqa: E402

ADDRESS = "A4:C1:38:00:00:01"
REQUEST_03 = "dda50300fffd77"
REQUEST_04 = "dda50400fffc77"
WARM_UP_POLLS = 3
SAMPLE_EVERY_S = 0.05
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def control(bus, method, *args):
    """One call to the fake's control interface (busctl: no D-Bus module needed here)."""
    signature = "s" * len(args)
    command = ["busctl", f"--address={bus.address}", "call", "org.bluez", "/io/bmsexporter/Fake",
               "io.bmsexporter.FakeControl1", method]
    if args:
        command += [signature, *args]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=10)


class WriteLog:
    """The fake's write log, read incrementally: (time, payload hex) per write."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.writes = []
        self.addresses = []

    def refresh(self):
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return
        complete = data.rfind(b"\n") + 1
        self.offset += complete
        for line in data[:complete].decode().splitlines():
            fields = line.split()
            self.writes.append((datetime.datetime.fromisoformat(fields[0]).timestamp(), fields[5]))
            self.addresses.append(fields[2])

    def polls(self):
        return [when for when, payload in self.writes if payload == REQUEST_03]

    def wait_for_poll(self, index, subject, timeout_s):
        """Time of the index-th 0x03 request (0-based), waiting for it under a deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.refresh()
            polls = self.polls()
            if len(polls) > index:
                return polls[index]
            if subject.poll() is not None:
                raise RuntimeError(f"subject exited with {subject.returncode} after {len(polls)} polls")
            if time.monotonic() > deadline:
                raise TimeoutError(f"poll {index + 1} not seen within {timeout_s} s ({len(polls)} seen)")
            time.sleep(SAMPLE_EVERY_S)


    def wait_for_every_battery(self, addresses, polls, subject, timeout_s):
        """Waits until every address has had `polls` 0x03 requests."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.refresh()
            counts = {address: 0 for address in addresses}
            for (_, payload), address in zip(self.writes, self.addresses):
                if payload == REQUEST_03 and address in counts:
                    counts[address] += 1
            if min(counts.values()) >= polls:
                return
            if subject.poll() is not None:
                raise RuntimeError(f"subject exited with {subject.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not every battery polled {polls} times within {timeout_s} s: {counts}")
            time.sleep(SAMPLE_EVERY_S)


def read(path):
    with open(path) as file:
        return file.read()


def status_fields(text, *names):
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in names:
            values[key] = int(value.split()[0])
    return values


def snapshot(pid):
    """Per-thread counters and process-wide CPU ticks and memory, as /proc shows them now."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = status_fields(read(f"/proc/{pid}/task/{tid}/status"),
                                   "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
            run_ns = int(read(f"/proc/{pid}/task/{tid}/schedstat").split()[0])
        except FileNotFoundError:  # the thread exited while we looked
            continue
        threads[tid] = (status["voluntary_ctxt_switches"], status["nonvoluntary_ctxt_switches"], run_ns,
                        read(f"/proc/{pid}/task/{tid}/comm").strip())
    stat = read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    memory = status_fields(read(f"/proc/{pid}/status"), "VmRSS", "RssAnon", "RssFile")
    return {"threads": threads, "ticks": int(stat[11]) + int(stat[12]), "memory": memory}


def process_cpu_s(pid):
    stat = read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return (int(stat[11]) + int(stat[12])) / TICKS_PER_S


def difference(before, after):
    voluntary = involuntary = run_ns = 0
    per_thread = []
    for tid, (vol, nonvol, ns, name) in after["threads"].items():
        base = before["threads"].get(tid, (0, 0, 0, name))  # a thread born in the window counts from 0
        voluntary += vol - base[0]
        involuntary += nonvol - base[1]
        run_ns += ns - base[2]
        per_thread.append((name, tid, vol - base[0], ns - base[2]))
    exited = len(set(before["threads"]) - set(after["threads"]))
    born = len(set(after["threads"]) - set(before["threads"]))
    return {"voluntary": voluntary, "involuntary": involuntary, "run_ns": run_ns,
            "ticks": after["ticks"] - before["ticks"], "exited": exited, "born": born,
            "threads": len(after["threads"]), "per_thread": per_thread}


def battery_address(index):
    return f"A4:C1:38:00:00:{index + 1:02X}"


def start_subject(kind, keep_connected, bus, scratch, args, batteries=1):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    port = free_port()
    if kind == "exporter":
        config = os.path.join(scratch, "config.yml")
        with open(config, "w") as file:
            file.write("poll_interval: 1s\nbatteries:\n")
            for index in range(batteries):
                file.write(f"  - name: bench{index + 1}\n    address: {battery_address(index)}\n"
                           f"    keep_connected: {'true' if keep_connected else 'false'}\n")
        command = [args.binary, "serve", "--config.file", config,
                   "--web.listen-address", f"127.0.0.1:{port}"]
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                                stderr=open(os.path.join(scratch, "subject.log"), "w"))
    command = [args.peer_python, os.path.join(HERE, "peer_exporter.py"), "--address", ADDRESS,
               "--interval", "1", "--keep-connected", "true" if keep_connected else "false",
               "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, preexec_fn=_die_with_parent,
                            stderr=open(os.path.join(scratch, "subject.log"), "w"))
    line = read_line(proc, 60, "peer_exporter")
    if line != "READY":
        raise RuntimeError(f"peer_exporter printed {line!r}")
    return proc


def measure(kind, keep_connected, args):
    with FakeBus() as bus, tempfile.TemporaryDirectory(prefix="wakeups-") as scratch:
        fake = bus.start_fake()
        control(bus, "AddBattery", json.dumps({"address": ADDRESS}))
        log = WriteLog(bus.write_log)
        subject = start_subject(kind, keep_connected, bus, scratch, args)
        try:
            first = log.wait_for_poll(WARM_UP_POLLS, subject, 90)
            time.sleep(max(0.0, first + 0.5 - time.time()))
            before = snapshot(subject.pid)
            helpers_before = process_cpu_s(fake.pid) + process_cpu_s(bus.daemon.pid)
            last = log.wait_for_poll(WARM_UP_POLLS + args.polls, subject, args.polls * 2 + 30)
            time.sleep(max(0.0, last + 0.5 - time.time()))
            after = snapshot(subject.pid)
            helpers_after = process_cpu_s(fake.pid) + process_cpu_s(bus.daemon.pid)
            log.refresh()
        finally:
            stop(subject)
        window = [(when, payload) for when, payload in log.writes if first <= when < last]
        turnarounds = []
        pending = None
        for when, payload in window:
            if payload == REQUEST_03:
                pending = when
            elif payload == REQUEST_04 and pending is not None:
                turnarounds.append((when - pending) * 1000)
                pending = None
        result = difference(before, after)
        result.update(kind=kind, keep_connected=keep_connected, polls=args.polls,
                      requests=len(window), memory=after["memory"],
                      turnaround_ms=statistics.median(turnarounds) if turnarounds else float("nan"),
                      helpers_cpu_s=helpers_after - helpers_before,
                      seconds=last - first)
        return result


def measure_rss(batteries, args):
    """VmRSS of the exporter polling `batteries` fake batteries every second on kept links."""
    with FakeBus() as bus, tempfile.TemporaryDirectory(prefix="wakeups-") as scratch:
        bus.start_fake()
        addresses = [battery_address(index) for index in range(batteries)]
        # A controller holds 7 LE links by default; the fake enforces that, like BlueZ would.
        control(bus, "SetAdapter", "hci0", json.dumps({"max_le_links": max(7, batteries)}))
        for address in addresses:
            control(bus, "AddBattery", json.dumps({"address": address}))
        log = WriteLog(bus.write_log)
        subject = start_subject("exporter", True, bus, scratch, args, batteries)
        try:
            log.wait_for_every_battery(addresses, WARM_UP_POLLS, subject, 120)
            memory = snapshot(subject.pid)["memory"]
        finally:
            stop(subject)
        return memory


def report_rss(args):
    print("| batteries | VmRSS MB, median of starts (anon + file) | all starts |")
    print("|---:|---:|---|")
    for batteries in [int(count) for count in args.rss.split(",")]:
        runs = sorted((measure_rss(batteries, args) for _ in range(args.starts)), key=lambda m: m["VmRSS"])
        middle = runs[len(runs) // 2]
        all_starts = ", ".join(f"{m['VmRSS'] / 1024:.1f}" for m in runs)
        print(f"| {batteries} | {middle['VmRSS'] / 1024:.1f} ({middle['RssAnon'] / 1024:.1f} + "
              f"{middle['RssFile'] / 1024:.1f}) | {all_starts} |")


def report(results):
    print("| subject | link | wake-ups/poll (voluntary cs) | involuntary/poll | CPU ms/poll "
          "(schedstat \\| ticks) | 0x03→0x04 ms | requests/poll | RSS MB (anon + file) | threads "
          "(born, exited) | fake + bus CPU ms/poll |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        n = r["polls"]
        memory = r["memory"]
        print(f"| {'bms_exporter' if r['kind'] == 'exporter' else 'Python peer'} "
              f"| {'kept' if r['keep_connected'] else 'per poll'} "
              f"| {r['voluntary'] / n:.1f} | {r['involuntary'] / n:.1f} "
              f"| {r['run_ns'] / n / 1e6:.2f} \\| {r['ticks'] / TICKS_PER_S * 1000 / n:.1f} "
              f"| {r['turnaround_ms']:.1f} | {r['requests'] / n:.1f} "
              f"| {memory['VmRSS'] / 1024:.1f} ({memory['RssAnon'] / 1024:.1f} + {memory['RssFile'] / 1024:.1f}) "
              f"| {r['threads']} ({r['born']}, {r['exited']}) "
              f"| {r['helpers_cpu_s'] * 1000 / n:.2f} |")
    print(f"\n{results[0]['polls']} polls per row at 1 s after {WARM_UP_POLLS} warm-up polls; "
          "one battery on the fake BlueZ with its default delays. CPU ticks are "
          f"1/{TICKS_PER_S} s, so the schedstat column is the precise one.")
    exporter = {r["keep_connected"]: r for r in results if r["kind"] == "exporter"}
    peer = {r["keep_connected"]: r for r in results if r["kind"] == "peer"}
    for mode in (True, False):
        if mode in exporter and mode in peer:
            ours, theirs = exporter[mode], peer[mode]
            print(f"{'Kept link' if mode else 'Connect per poll'}: bms_exporter wakes "
                  f"{ours['voluntary'] / ours['polls']:.1f} times per poll against the peer's "
                  f"{theirs['voluntary'] / theirs['polls']:.1f}, and uses "
                  f"{ours['run_ns'] / max(theirs['run_ns'], 1) * 100:.0f} % of its CPU per poll.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="bms_exporter (release build, as deployed)")
    parser.add_argument("--peer-python", help="python of the venv with aiobmsble, bleak, prometheus_client")
    parser.add_argument("--polls", type=int, default=60)
    parser.add_argument("--subjects", default="exporter,peer")
    parser.add_argument("--modes", default="kept,per-poll")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--per-thread", action="store_true", help="also print each thread's share (stderr)")
    parser.add_argument("--rss", metavar="COUNTS",
                        help="only resident memory of the exporter with these numbers of batteries, e.g. 1,8")
    parser.add_argument("--starts", type=int, default=3, help="starts per --rss figure")
    args = parser.parse_args()
    if args.rss:
        if not args.binary:
            parser.error("--rss needs --binary")
        report_rss(args)
        return
    subjects = args.subjects.split(",")
    if "exporter" in subjects and not args.binary:
        parser.error("--binary is needed to measure the exporter")
    if "peer" in subjects and not args.peer_python:
        parser.error("--peer-python is needed to measure the peer")
    modes = {"kept": True, "per-poll": False}
    results = []
    for mode in args.modes.split(","):
        for kind in subjects:
            results.append(measure(kind, modes[mode], args))
            print(f"measured {kind}, {mode}: {results[-1]['voluntary'] / args.polls:.1f} wake-ups/poll",
                  file=sys.stderr, flush=True)
            if args.per_thread:
                for name, tid, switches, ns in sorted(results[-1]["per_thread"], key=lambda t: -t[2]):
                    print(f"    {name:16} {tid:>8}: {switches / args.polls:5.1f} wake-ups/poll, "
                          f"{ns / args.polls / 1e6:.3f} ms/poll", file=sys.stderr)
    report(results)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
