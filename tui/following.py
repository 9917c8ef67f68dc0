"""A screen's follower: a thread that waits for files another process writes to change and posts
what changed, until it is stopped; the one way the Train and Runs screens follow folders.

The waiting and reading are core.follow's, in the follower's thread; the screen gets only messages.
The first read is a thread worker, so waiting for the app's workers waits for what is on disk now;
the following after it goes on in a daemon thread of its own, which such waiting must not wait on,
since it ends only when stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from layerlab.core.errors import log_failure
from textual.dom import DOMNode
from textual.message import Message
from textual.worker import get_current_worker


class Following:
    """Follows one thing at a time for `node` (a new `start` ends the last), until `stop`.

    Args:
        node: The screen whose worker it is, and to which the messages go.
        group: The worker group (one follower per group).
    """

    def __init__(self, node: DOMNode, group: str) -> None:
        self.node, self.group = node, group
        self._stop: threading.Event | None = None

    @property
    def running(self) -> bool:
        return self._stop is not None and not self._stop.is_set()

    def start(
        self,
        produce: Callable[[threading.Event], Iterator[Any]],
        what: str,
        news: Callable[[Any], Message],
        failed: Callable[[str], Message] | None = None,
    ) -> None:
        """Run `produce(stop)` in a thread worker, posting a message for each thing it yields.

        Args:
            produce: Blocks between yields; returns soon after its `stop` event is set.
            what: What is followed, in words (the worker's description, the log's words).
            news: Makes the message for one thing `produce` yields.
            failed: Makes the message for a `produce` that raised (its words), or None.
        """
        self.stop()
        stop = self._stop = threading.Event()
        self.node.run_worker(
            partial(self._follow, produce, stop, what, news, failed),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=self.group,
            description=what,
        )

    def stop(self) -> None:
        """End the follower (its thread returns within a fraction of a second)."""
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        self.node.workers.cancel_group(self.node, self.group)

    def _follow(
        self,
        produce: Callable[[threading.Event], Iterator[Any]],
        stop: threading.Event,
        what: str,
        news: Callable[[Any], Message],
        failed: Callable[[str], Message] | None,
    ) -> None:
        """The worker: the first read, then the rest handed to a thread of its own."""
        found = produce(stop)
        if (
            not self._post_next(found, stop, what, news, failed)
            or get_current_worker().is_cancelled
        ):
            stop.set()
            return
        rest = partial(self._go_on, found, stop, what, news, failed)
        threading.Thread(target=rest, name=what, daemon=True).start()

    def _go_on(
        self,
        found: Iterator[Any],
        stop: threading.Event,
        what: str,
        news: Callable[[Any], Message],
        failed: Callable[[str], Message] | None,
    ) -> None:
        try:
            while self._post_next(found, stop, what, news, failed):
                pass
        finally:
            stop.set()  # a follower that failed is one that is over
            close = getattr(found, "close", None)
            if close is not None:
                close()

    def _post_next(
        self,
        found: Iterator[Any],
        stop: threading.Event,
        what: str,
        news: Callable[[Any], Message],
        failed: Callable[[str], Message] | None,
    ) -> bool:
        """Post a message for the next thing found; False when there is none (stopped, failed)."""
        try:
            item = next(found)
        except StopIteration:
            return False
        except Exception as exc:  # said in words on screen; the traceback goes to the log
            log_failure(what, exc)
            if failed is not None and not stop.is_set():
                self.node.post_message(failed(f"{what}: {getattr(exc, 'strerror', None) or exc}"))
            return False
        if stop.is_set():
            return False
        self.node.post_message(news(item))
        return True
