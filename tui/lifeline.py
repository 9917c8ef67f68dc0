"""What the app does when its terminal goes away (SIGHUP) or it is told to stop (SIGTERM, SIGINT).

A closed terminal (an SSH connection that dropped, a killed tmux session) must not end a training
run: the terminal's descriptors are pointed at /dev/null, the UI ends without drawing, and the
training goes on in this process, detached, to its end; `tui.main` waits for it however long it
takes. SIGTERM and SIGINT stop training as the Train screen's `s` does (after the batch in progress,
the best weights kept) and end the app with 143 or 130 (129 after a hangup). An unsaved spec is
kept in the state folder either way (tui.recovery).

Why in this process rather than each run in a headless process the app follows: the session, the
live model Inspect reads and the Train screen's feed all stay as they are, and nothing but the
terminal is lost when it goes; the price is that the UI must not touch the dead terminal, which
tui.terminal_driver makes sure of.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("layerlab")

SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """The shell's exit status for a process ended by `signum`: 128 + its number."""
    return 128 + signum


class Lifeline:
    """The process's answer to SIGHUP, SIGTERM and SIGINT, and the training sessions they stop.

    Signals arrive through the asyncio loop (`install`), so everything here runs on the loop's
    thread, between callbacks: while the app runs, and after it, while `tui.main` waits for a
    detached training to end.
    """

    def __init__(self) -> None:
        self.detached = False
        """True once the terminal went away: the UI ends and training goes on without one."""
        self.exit_code: int | None = None
        """The exit status a signal asked for (None: no signal came)."""
        self.end_ui: Callable[[int], None] | None = None
        """Ends the UI for a signal, keeping unsaved work; set by the app while it runs."""
        self._terminal: tuple[int, ...] = ()
        self._sessions: set[Any] = set()
        self._stopping = False
        self._lock = threading.Lock()

    def install(self, loop: Any, terminal_fds: Iterable[int]) -> None:
        """Answer the signals on `loop` (from the main thread); `terminal_fds` may be the terminal."""
        self._terminal = tuple(fd for fd in dict.fromkeys(terminal_fds) if _is_terminal(fd))
        for signum in SIGNALS:
            loop.add_signal_handler(signum, self.received, signum)

    def received(self, signum: int) -> None:
        """What a signal does (on the loop's thread)."""
        if signum == signal.SIGHUP:
            if self.detached:
                return
            self.detach()
            if self.exit_code is None:
                self.exit_code = exit_code(signum)
        else:
            log.info("%s: stopping training after the batch in progress", signal.strsignal(signum))
            self.exit_code = exit_code(signum)
            self.stop_training()
        end_ui, self.end_ui = self.end_ui, None  # the first signal ends the UI; later ones cannot
        if end_ui is not None:
            end_ui(signum)

    def detach(self) -> None:
        """The terminal went away: point its descriptors at /dev/null and train on without it."""
        self.detached = True
        null = os.open(os.devnull, os.O_RDWR)
        try:
            for fd in self._terminal:
                # Writes to a hung-up terminal fail with EIO and reads see its end: after this,
                # writes vanish and reads find nothing, in every thread, Textual's included.
                with contextlib.suppress(OSError):
                    os.dup2(null, fd)
        finally:
            os.close(null)
        log.warning(
            "the terminal went away (SIGHUP): training goes on detached and writes its run folder"
        )

    # -- the sessions a signal stops -------------------------------------------------------

    def follow(self, session: Any) -> None:
        """Stop `session` on SIGTERM or SIGINT, even once the UI is gone (any thread)."""
        with self._lock:
            self._sessions.add(session)
            stopping = self._stopping
        if stopping:  # the signal came while the session was being made
            session.stop()

    def forget(self, session: Any) -> None:
        """The session has ended (any thread)."""
        with self._lock:
            self._sessions.discard(session)

    def stop_training(self) -> None:
        """Stop every session followed, now and any made from now on."""
        with self._lock:
            self._stopping = True
            sessions = list(self._sessions)
        for session in sessions:
            session.stop()


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
