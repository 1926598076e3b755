"""The pseudo-terminal pair that stands in for a USB-UART adapter, and its stable name."""

import os
import tty


class Line:
    """Master end kept by the fake, slave end opened by the client through `link`.

    The fake also holds the slave open: without that, reading the master fails with EIO
    whenever no client has the device open, which is not what a plugged-in adapter does.
    """

    def __init__(self, link=None):
        self.link = link
        self.master = None
        self.slave_fd = None
        self.slave = None
        self.previous = None

    @property
    def plugged(self):
        return self.master is not None

    @property
    def name(self):
        """What the client opens: the link if there is one, else the slave node."""
        return self.link or self.slave

    def plug(self):
        master, slave_fd = os.openpty()
        if os.ttyname(slave_fd) == self.previous:
            # A replugged adapter gets another number; hold this pair while taking the next.
            again = os.openpty()
            os.close(master)
            os.close(slave_fd)
            master, slave_fd = again
        tty.setraw(slave_fd)
        os.set_blocking(master, False)
        self.master, self.slave_fd, self.slave = master, slave_fd, os.ttyname(slave_fd)
        if self.link:
            temporary = f"{self.link}.new"
            if os.path.lexists(temporary):
                os.unlink(temporary)
            os.symlink(self.slave, temporary)
            os.replace(temporary, self.link)  # atomic: the name is never half made

    def unplug(self):
        """Hang up: the client's descriptor sees HUP/EIO, the node and the link vanish."""
        if self.link and os.path.lexists(self.link):
            os.unlink(self.link)
        if self.master is not None:
            os.close(self.master)
            os.close(self.slave_fd)
        self.previous = self.slave
        self.master = self.slave_fd = self.slave = None
