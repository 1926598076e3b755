"""The control interface: JSON lines over a unix socket, and what each command does."""

import json
import os
import selectors
import socket

from .board import ControlError


def dispatch(fake, message):
    """One control request (a dict) -> the reply's extra fields. Raises ControlError."""
    if not isinstance(message, dict) or not isinstance(message.get("cmd"), str):
        raise ControlError('each line is a JSON object with a "cmd" string')
    cmd = message["cmd"]
    args = {k: v for k, v in message.items() if k != "cmd"}

    def only(*names):
        extra = set(args) - set(names)
        if extra:
            raise ControlError(f"{cmd}: unknown fields {sorted(extra)}")

    if cmd == "get_state":
        only()
        return {"state": fake.state()}
    if cmd == "set_battery":
        only("bms", "faults", "delays")
        fake.apply_battery(args)
        return {"state": fake.state()}
    if cmd in ("set_bms", "set_faults", "set_delays"):
        field = cmd[4:]
        only(field)
        fake.apply_battery({field: args.get(field, {})})
        return {}
    if cmd == "unplug":
        only()
        fake.unplug()
        return {}
    if cmd == "replug":
        only()
        fake.replug()
        return {"slave": fake.line.slave}
    if cmd == "inject":
        only("hex")
        try:
            data = bytes.fromhex(args.get("hex", ""))
        except (TypeError, ValueError) as error:
            raise ControlError("inject: hex must be a hex string") from error
        fake.inject(data)
        return {}
    if cmd == "get_writes":
        only()
        return {"writes": list(fake.log.entries)}
    raise ControlError(f"unknown cmd {cmd!r}")


class ControlSocket:
    """Listens at `path`; each line a client sends is one request, answered by one line."""

    def __init__(self, path, selector, handle):
        self.path = path
        self.selector = selector
        self.handle = handle        # message dict -> reply fields; raises ControlError
        self.buffers = {}           # connection -> bytes of an unfinished line
        if os.path.exists(path):
            os.unlink(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen()
        self.server.setblocking(False)
        selector.register(self.server, selectors.EVENT_READ, self.on_accept)

    def close(self):
        self.server.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def on_accept(self, server):
        try:
            client, _ = server.accept()
        except BlockingIOError:
            return
        client.setblocking(False)
        self.selector.register(client, selectors.EVENT_READ, self.on_control)
        self.buffers[client] = b""

    def on_control(self, client):
        try:
            data = client.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(client)
            self.buffers.pop(client, None)
            client.close()
            return
        buffer = self.buffers[client] + data
        *lines, self.buffers[client] = buffer.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                reply = {"ok": True, **self.handle(json.loads(line))}
            except ValueError as error:  # not JSON, or not UTF-8
                reply = {"ok": False, "error": f"bad JSON: {error}"}
            except ControlError as error:
                reply = {"ok": False, "error": str(error)}
            client.setblocking(True)  # replies are small; the client reads them right away
            try:
                client.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass
            finally:
                client.setblocking(False)
