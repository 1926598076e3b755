"""One event loop: the pty master, the timers that pace replies, and the control socket."""

import errno
import heapq
import itertools
import json
import os
import selectors
import time

from .board import Board, ControlError
from .control import ControlSocket, dispatch
from .framer import RequestFramer
from .line import Line
from .writelog import WriteLog


class FakeSerialBMS:
    def __init__(self, link=None, control=None, write_log=None, battery=None):
        self.board = Board()
        self.line = Line(link)
        self.framer = RequestFramer()
        self.log = WriteLog(write_log)
        self.control_path = control
        self.selector = selectors.DefaultSelector()
        self.timers = []            # heap of (when, seq, action)
        self.sequence = itertools.count()
        self.idle_token = 0         # only the latest incomplete-request timer may flush
        self.control = None
        self.send_after = 0.0       # replies queue behind each other, in order
        self.generation = 0         # bumps on unplug: stale timers of the old pty do nothing
        self.stats = {"requests_received": 0, "requests": {}, "replies_sent": 0,
                      "bytes_sent": 0, "flagged_writes": 0, "unplug_count": 0, "replug_count": 0}
        if battery:
            self.apply_battery(battery)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self):
        self.line.plug()
        self.selector.register(self.line.master, selectors.EVENT_READ, self.on_master)
        if self.control_path:
            self.control = ControlSocket(self.control_path, self.selector, lambda message: dispatch(self, message))

    def close(self):
        if self.line.plugged:
            self.selector.unregister(self.line.master)
        self.line.unplug()
        if self.control:
            self.control.close()

    def run(self):
        while True:
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            for key, _ in self.selector.select(timeout):
                key.data(key.fileobj)
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, action = heapq.heappop(self.timers)
                action()

    def at(self, when, action):
        seq = next(self.sequence)
        heapq.heappush(self.timers, (when, seq, action))
        return seq

    # --- the line ---------------------------------------------------------------------------

    def on_master(self, fd):
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno == errno.EIO:  # cannot happen while we hold the slave; be safe
                return
            raise
        for request in self.framer.feed(data):
            self.on_request(request)
        if self.framer.pending:
            self.idle_token += 1
            token = self.idle_token
            self.at(time.monotonic() + self.board.delays["request_idle_ms"] / 1000,
                    lambda: self.flush_incomplete(token))

    def flush_incomplete(self, token):
        if token == self.idle_token and self.line.plugged:
            for request in self.framer.flush():
                self.on_request(request)

    def on_request(self, request):
        entry = self.log.record(self.line.name, self.line.slave, request)
        self.stats["requests_received"] += 1
        self.stats["requests"][entry["hex"]] = self.stats["requests"].get(entry["hex"], 0) + 1
        if not entry["allowed"]:
            self.stats["flagged_writes"] += 1
        pieces = self.board.respond(request)
        when = max(time.monotonic(), self.send_after)
        generation = self.generation
        for index, (delay_ms, data) in enumerate(pieces):
            when += delay_ms / 1000
            last = index == len(pieces) - 1 and data is not request
            self.at(when, lambda d=data, r=last: self.send(generation, d, r))
        self.send_after = when

    def send(self, generation, data, ends_reply):
        if generation != self.generation or not self.line.plugged:
            return
        view = memoryview(data)
        while view:  # a reply is far below the pty buffer; a full buffer would be a stuck client
            try:
                view = view[os.write(self.line.master, view):]
            except BlockingIOError:
                self.selector.select(0.01)
        self.stats["bytes_sent"] += len(data)
        if ends_reply:
            self.stats["replies_sent"] += 1

    def inject(self, data):
        self.at(max(time.monotonic(), self.send_after), lambda g=self.generation: self.send(g, data, False))

    def unplug(self):
        if not self.line.plugged:
            raise ControlError("already unplugged")
        self.selector.unregister(self.line.master)
        self.line.unplug()
        self.generation += 1
        self.framer.flush()
        self.idle_token += 1
        self.stats["unplug_count"] += 1

    def replug(self):
        if self.line.plugged:
            raise ControlError("already plugged in")
        self.line.plug()
        self.selector.register(self.line.master, selectors.EVENT_READ, self.on_master)
        self.send_after = 0.0
        self.stats["replug_count"] += 1

    # --- control ----------------------------------------------------------------------------

    def apply_battery(self, battery):
        if (not isinstance(battery, dict) or set(battery) - {"bms", "faults", "delays"}
                or not all(isinstance(value, dict) for value in battery.values())):
            raise ControlError('battery: {"bms"?: {...}, "faults"?: {...}, "delays"?: {...}}')
        # Validate everything on a scratch board first: an invalid update changes nothing.
        scratch = Board()
        scratch.set_bms({**self.board.bms.to_json(), **battery.get("bms", {})})
        scratch.set_faults(battery.get("faults", {}))
        scratch.set_delays(battery.get("delays", {}))
        self.board.set_bms(battery.get("bms", {}))
        self.board.set_faults(battery.get("faults", {}))
        self.board.set_delays(battery.get("delays", {}))

    def state(self):
        return {"plugged": self.line.plugged, "link": self.line.link, "slave": self.line.slave,
                "bms": self.board.bms.to_json(), "faults": dict(self.board.faults),
                "delays": dict(self.board.delays), **json.loads(json.dumps(self.stats))}
