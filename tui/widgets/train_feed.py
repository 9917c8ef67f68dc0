"""What runs in the training threads for the Train screen: the session's subscriber, and words for
the errors that stop a run before it starts.

Epochs may end dozens of times a second and batches hundreds: the subscriber gathers events and
posts them together, at most every POST_INTERVAL seconds, keeping only the latest batch. Events
the user must see at once (a NaN, a pause, a stop, the end) go out immediately, with what was
gathered before them. Posting is all it does (post_message is thread-safe).
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from collections.abc import Callable

from layerlab.core import events
from layerlab.core.errors import LayerlabError
from textual.message import Message

POST_INTERVAL = 0.25
"""Gathered events are posted at most this often (seconds)."""
GATHERED = (events.EpochStarted, events.BatchEnded, events.Minibatch, events.EpochEnded)
"""Events that may wait for the next post; any other is posted at once."""


class Feed:
    """A session subscriber posting `message(events)` with the events gathered since its last post.

    Keras may report batch ends from a thread of its own, so the gathering is locked.
    """

    def __init__(self, post: Callable[[Message], object], message: Callable[[tuple], Message]):
        self._post, self._message = post, message
        self._lock = threading.Lock()
        self._pending: list[events.Event] = []
        self._batch: events.Event | None = None
        self._last = 0.0

    def __call__(self, event: events.Event) -> None:
        with self._lock:
            pending = self._pending
            if event.per_batch:  # only the latest of a kind of batch event is worth showing
                last = self._batch
                if (
                    last is not None
                    and pending
                    and pending[-1] is last
                    and type(last) is type(event)
                ):
                    pending.pop()
                self._batch = event
            pending.append(event)
            now = time.monotonic()
            if isinstance(event, GATHERED) and now - self._last < POST_INTERVAL:
                return
            self._pending, self._batch, self._last = [], None, now
            self._post(self._message(tuple(pending)))  # inside the lock: posts stay in order


def error_words(exc: BaseException) -> str:
    """A failed preparation in words: bad input as its own message, anything else with its type."""
    return str(exc) if isinstance(exc, LayerlabError) else f"{type(exc).__name__}: {exc}"


@functools.cache
def freeze_long_lived() -> None:
    """Once a process: collect, then leave everything alive (Keras, TensorFlow, the app) out of
    later collections. A full collection over those millions of objects holds the GIL for
    100-350 ms: a stall in training, and in the app's answer to a key."""
    gc.collect()
    gc.freeze()
