"""Textual's Linux driver, made to outlive its terminal (a dropped SSH connection, a killed tmux).

When a terminal hangs up, writes to it fail with EIO and the kernel sends SIGCONT along with
SIGHUP. Unchanged, Textual's writer thread dies on the first failed write (and the app then blocks
once its queue of 30 writes is full), and Textual answers the SIGCONT by starting its whole
terminal mode again on the dead terminal. tui.lifeline points the descriptors at /dev/null soon
after; this driver covers the moments before.
"""

from __future__ import annotations

import errno
import logging
import os
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver

log = logging.getLogger("layerlab")

GONE = (errno.EIO, errno.ENXIO, errno.EBADF)
"""What reading or writing a terminal that hung up (or was closed) fails with."""


class TerminalDriver(LinuxDriver):
    """LinuxDriver that drops output to a dead terminal and does not restart on its SIGCONT."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file = _Forgiving(self._file)

    def _sigcont_application(self, *args: Any) -> None:
        # A hung-up terminal answers no terminal call (isatty is False): nothing to resume.
        if os.isatty(self.fileno):
            super()._sigcont_application(*args)

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            # The terminal went away: SIGHUP ends the UI (tui.lifeline), not a crash report.
            log.info("terminal input ended: %s", exc)


class _Forgiving:
    """The terminal stream for Textual's writer thread: once the terminal is gone, writes are dropped."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> None:
        if not self.gone:
            self._call(self._stream.write, text)

    def flush(self) -> None:
        if not self.gone:
            self._call(self._stream.flush)

    def _call(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            self.gone = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
