"""Start a private dbus-daemon and the fake BlueZ on it (stdlib only: usable from any Python).

Every wait has a deadline and waits for an event (a line on a pipe), never a fixed sleep.
"""

import ctypes
import os
import selectors
import signal
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE = os.path.join(HERE, "fake_bluez.py")
BUS_CONF = os.path.join(HERE, "test-bus.conf")
SYSTEM_PYTHON = "/usr/bin/python3"  # has python3-dbus and python3-gi


def _die_with_parent():
    """Children get SIGTERM if the test process dies without cleaning up (Linux prctl)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def read_line(proc, timeout_s, what):
    """The next line the process prints, or TimeoutError/RuntimeError under a deadline."""
    deadline = time.monotonic() + timeout_s
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not buf.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{what}: no line within {timeout_s}s")
            if not sel.select(remaining):
                continue
            byte = os.read(proc.stdout.fileno(), 1)
            if not byte:
                raise RuntimeError(f"{what}: exited with {proc.wait()} before printing a line")
            buf += byte
    return buf.decode().strip()


def stop(proc, timeout_s=5):
    """Terminate one process we started and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


_live = set()


def _terminated(*_):
    """SIGTERM: stop what we started and remove temp dirs, then exit (unittest would swallow SystemExit)."""
    for bus in list(_live):
        bus.close()
    os._exit(143)


class FakeBus:
    """A private bus in a temp dir; start_fake() runs fake_bluez.py on it."""

    def __init__(self):
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminated)
        _live.add(self)
        self.dir = tempfile.mkdtemp(prefix="fakebluez-")
        self.write_log = os.path.join(self.dir, "writes.log")
        self.state_file = os.path.join(self.dir, "state.json")
        self.daemon = None
        self.fakes = []
        try:
            self.daemon = subprocess.Popen(
                ["dbus-daemon", "--nofork", f"--config-file={BUS_CONF}",
                 f"--address=unix:dir={self.dir}", "--print-address=1"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            self.address = read_line(self.daemon, 10, "dbus-daemon")
        except BaseException:
            self.close()
            raise

    def start_fake(self, *extra_args, state_file=True):
        args = [SYSTEM_PYTHON, FAKE, "--bus-address", self.address, "--write-log", self.write_log]
        if state_file:
            args += ["--state-file", self.state_file]
        proc = subprocess.Popen(args + list(extra_args), stdout=subprocess.PIPE, preexec_fn=_die_with_parent)
        self.fakes.append(proc)
        line = read_line(proc, 15, "fake_bluez")
        if line != "READY":
            raise RuntimeError(f"fake_bluez printed {line!r} instead of READY")
        return proc

    def stop_fake(self, proc):
        stop(proc)
        self.fakes.remove(proc)

    def close(self):
        for proc in self.fakes:
            stop(proc)
        self.fakes = []
        if self.daemon is not None:
            stop(self.daemon)
        shutil.rmtree(self.dir, ignore_errors=True)
        _live.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
