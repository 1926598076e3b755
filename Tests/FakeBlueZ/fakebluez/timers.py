"""GLib timers grouped by owner so a link teardown can cancel everything it scheduled."""

from gi.repository import GLib


class Timers:
    def __init__(self):
        self._ids = set()

    def after(self, ms, fn, *args):
        """Run fn(*args) once after ms milliseconds (0 = next main-loop iteration)."""
        box = []

        def fire():
            self._ids.discard(box[0])
            fn(*args)
            return False

        source = GLib.timeout_add(max(0, int(ms)), fire)
        box.append(source)
        self._ids.add(source)
        return source

    def cancel(self, source):
        if source in self._ids:
            self._ids.discard(source)
            GLib.source_remove(source)

    def cancel_all(self):
        for source in list(self._ids):
            self.cancel(source)
