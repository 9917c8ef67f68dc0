"""A run's log.txt: layerlab's log records and Python's warnings while it trains, and its events in words.

Imports neither keras nor tensorflow. The headless command already points file descriptor 2 at the
run's log.txt (core.quiet), so when descriptor 2 is that very file the records are written to it
once, through descriptor 2; a run trained inside the app or a script, whose descriptor 2 goes
elsewhere, gets its own log.txt. Only records from the thread that trains count: the app's other
threads keep logging to the app's log alone.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, TextIO

from . import events, words
from .errors import LayerlabError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""As the app's own log writes its lines."""

lines = logging.getLogger("layerlab.run")
"""The run's events in words, one record each."""

_lock = threading.Lock()
_open: list[RunLogHandler] = []
"""The run logs open now, which Python's warnings also reach."""
_shown_before: Any = None
"""What showed warnings before the first run log opened (warnings.showwarning)."""


class RunLog:
    """Writes one run's log.txt from when its folder is opened until `close`.

    Typical use: ``run_log = RunLog(run_dir, session.bus)`` when the run folder is made, and
    ``run_log.close()`` when the run ends.
    """

    def __init__(self, run_dir: str | os.PathLike, bus: events.EventBus):
        self.handler = RunLogHandler(Path(run_dir) / "log.txt", threading.get_ident())
        self.epochs = 0
        logging.getLogger("layerlab").addHandler(self.handler)
        _follow_warnings(self.handler, True)
        self._unsubscribe = bus.subscribe(self._event)

    def _event(self, event: events.Event) -> None:
        if isinstance(event, events.RunStarted):
            self.epochs = event.epochs
        worded = words.event_line(event, self.epochs)
        if worded is None:
            return
        text, tone = worded
        level = logging.WARNING if tone is words.Tone.BAD else logging.INFO
        # A run that crashed publishes Failed while its exception is being handled: keep the traceback.
        crash = sys.exc_info() if isinstance(event, events.Failed) else (None, None, None)
        exc_info = (
            crash if crash[1] is not None and not isinstance(crash[1], LayerlabError) else None
        )
        if lines.isEnabledFor(level):
            lines.log(level, text, exc_info=exc_info)
        else:  # the program logs only warnings: the run's log.txt still tells the whole run
            self.handler.handle(
                lines.makeRecord(lines.name, level, __file__, 0, text, (), exc_info)
            )

    def close(self) -> None:
        """Stop writing: no more records, warnings or events reach log.txt."""
        self._unsubscribe()
        logging.getLogger("layerlab").removeHandler(self.handler)
        _follow_warnings(self.handler, False)
        self.handler.close()


class RunLogHandler(logging.Handler):
    """Appends the training thread's records to a run's log.txt, or every record to descriptor 2
    when that is the same file (the headless command, whose whole process is the run), so no line
    is written there twice."""

    def __init__(self, path: Path, thread: int):
        super().__init__()
        self.path, self.thread = path, thread
        self.setFormatter(logging.Formatter(FORMAT))
        self._own: TextIO | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            here = _stat(self.path)
            if here is not None and _same(here, _fstat(2)):
                self._close_own()
                if getattr(
                    record, "on_stderr", False
                ):  # a warning, which Python wrote there already
                    return
                data = (self.format(record) + "\n").encode("utf-8", "replace")
                while data:
                    data = data[os.write(2, data) :]
            elif record.thread == self.thread:
                self._append(here, self.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def _append(self, here: os.stat_result | None, text: str) -> None:
        if self._own is not None and here is not None and _same(here, _fstat(self._own.fileno())):
            self._own.write(text)
            self._own.flush()
            return
        # First line, or log.txt was replaced (the headless command moves its log in) or removed.
        self._close_own()
        if not self.path.parent.is_dir():  # a run stopped before its first epoch leaves no folder
            return
        self._own = open(self.path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._own.write(text)
        self._own.flush()

    def _close_own(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None

    def close(self) -> None:
        self.acquire()
        try:
            self._close_own()
        finally:
            self.release()
        super().close()


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _fstat(fd: int) -> os.stat_result | None:
    try:
        return os.fstat(fd)
    except OSError:
        return None


def _same(a: os.stat_result, b: os.stat_result | None) -> bool:
    return b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _follow_warnings(handler: RunLogHandler, on: bool) -> None:
    """Also hand Python's warnings to `handler` (on), or stop (off); they go where they went before
    as well, so a script still sees them on its terminal and the app in its log."""
    global _shown_before
    with _lock:
        if on:
            if not _open:
                _shown_before = warnings.showwarning
                warnings.showwarning = _show_warning
            _open.append(handler)
        elif handler in _open:
            _open.remove(handler)
            if not _open and warnings.showwarning is _show_warning:
                warnings.showwarning = _shown_before


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    _shown_before(message, category, filename, lineno, file, line)
    text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    record = logging.LogRecord("py.warnings", logging.WARNING, filename, lineno, text, None, None)
    record.on_stderr = file is None  # Python's own showwarning writes to sys.stderr
    with _lock:
        handlers = list(_open)
    for handler in handlers:
        handler.handle(record)
