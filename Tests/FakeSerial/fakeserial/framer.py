"""Cuts the byte stream a client writes into requests, the way a JBD board would read it."""

from .jbdlink import jbd


class RequestFramer:
    """Feed bytes; get whole requests back.

    A request is `DD op reg len data chk chk 77` (7 + len bytes). Bytes before a DD are noise and
    come back as one item of their own, so the write log lists them too. A request left
    incomplete is returned by `flush()` once the line has been idle (the caller's timer).
    """

    def __init__(self):
        self.pending = bytearray()

    def feed(self, data):
        self.pending += data
        out = []
        while self.pending:
            if self.pending[0] != jbd.START:
                end = self.pending.find(bytes([jbd.START]))
                end = len(self.pending) if end < 0 else end
                out.append(bytes(self.pending[:end]))
                del self.pending[:end]
                continue
            if len(self.pending) < 4:
                break
            need = 7 + self.pending[3]
            if len(self.pending) < need:
                break
            out.append(bytes(self.pending[:need]))
            del self.pending[:need]
        return out

    def flush(self):
        rest, self.pending = bytes(self.pending), bytearray()
        return [rest] if rest else []
