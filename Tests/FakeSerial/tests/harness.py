"""Starts the fake as a child process and talks to it like a client would."""

import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
import tty

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE = os.path.join(HERE, "fake_serial_bms.py")
DEADLINE = 10.0


class FakeLine:
    """A running fake in its own temp dir: `link`, `control`, `write_log`; `close()` ends it."""

    def __init__(self, battery=None):
        self.dir = tempfile.mkdtemp(prefix="fakeserial-")
        self.link = os.path.join(self.dir, "ttyBMS")
        self.control = os.path.join(self.dir, "control.sock")
        self.write_log = os.path.join(self.dir, "writes.log")
        self.stderr_path = os.path.join(self.dir, "stderr")
        args = [FAKE, "--link", self.link, "--control", self.control, "--write-log", self.write_log]
        if battery is not None:
            args += ["--battery", json.dumps(battery)]
        with open(self.stderr_path, "w") as err:
            self.process = subprocess.Popen(["/usr/bin/python3", *args], stdout=subprocess.PIPE, stderr=err)
        line = read_line(self.process.stdout.fileno(), DEADLINE)
        if line != b"READY":
            self.close()
            raise RuntimeError(f"fake did not print READY: {line!r}")

    def command(self, **message):
        return self.send(message)

    def send(self, message):
        """Any JSON value as one control line; the decoded reply."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(DEADLINE)
            sock.connect(self.control)
            sock.sendall(json.dumps(message).encode() + b"\n")
            return json.loads(sock.makefile("rb").readline())

    def state(self):
        return self.command(cmd="get_state")["state"]

    def wait_for_state(self, condition, limit=DEADLINE):
        """The first state (asked again after each answer) that meets `condition`, within `limit`."""
        end = time.monotonic() + limit
        while True:
            state = self.state()
            if condition(state) or time.monotonic() > end:
                return state

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(DEADLINE)
        self.process.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_line(fd, limit):
    end = time.monotonic() + limit
    data = b""
    while not data.endswith(b"\n"):
        remaining = end - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return data
        byte = os.read(fd, 1)
        if not byte:
            return data
        data += byte
    return data.rstrip(b"\n")


def open_client(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    return fd


def read_for(fd, count, limit=DEADLINE):
    """Up to `count` bytes, each chunk with its arrival time; stops early at `limit` seconds."""
    end = time.monotonic() + limit
    chunks, total = [], 0
    while total < count:
        remaining = end - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        data = os.read(fd, count - total)
        if not data:
            break
        chunks.append((time.monotonic(), data))
        total += len(data)
    return chunks


def joined(chunks):
    return b"".join(data for _, data in chunks)


def quiet_for(fd, seconds):
    """True if nothing arrives within `seconds` (a bounded wait for an absence, not a sleep)."""
    return not select.select([fd], [], [], seconds)[0]
