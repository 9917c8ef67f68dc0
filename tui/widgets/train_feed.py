"""What runs in the training thread for the Train screen: the session's subscriber, and words for
the errors that stop a run before it starts.

The subscriber only posts messages (post_message is thread-safe); batches, which come hundreds of
times a second, are posted at most every BATCH_INTERVAL seconds, the rest dropped.
"""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Callable

from textual.message import Message

from core import events

BATCH_INTERVAL = 0.1
"""The training thread posts a batch at most this often (seconds); the others are dropped."""
BAD_INPUT = ("DataError", "ModelError", "AcceleratorError", "SpecError")
"""Errors about the user's input: their own words are the message, without the type's name."""


def subscriber(
    post: Callable[[Message], object],
    on_event: Callable[[events.Event], Message],
    on_batch: Callable[[events.Event], Message],
) -> Callable[[events.Event], None]:
    """A session subscriber posting `on_event(event)`, or `on_batch(event)` for a batch, sparingly."""
    last = 0.0

    def deliver(event: events.Event) -> None:
        nonlocal last
        if event.per_batch:
            now = time.monotonic()
            if now - last < BATCH_INTERVAL:
                return
            last = now
            post(on_batch(event))
        else:
            post(on_event(event))

    return deliver


def error_words(exc: BaseException) -> str:
    """A failed preparation in words: bad input as its own message, anything else with its type."""
    name = type(exc).__name__
    return str(exc) if name in BAD_INPUT else f"{name}: {exc}"


@functools.cache
def freeze_long_lived() -> None:
    """Once a process: collect, then leave everything alive (Keras, TensorFlow, the app) out of
    later collections. A full collection over those millions of objects holds the GIL for
    100-350 ms: a stall in training, and in the app's answer to a key."""
    gc.collect()
    gc.freeze()
