"""The typed events a training session publishes, and a thread-safe way to hand them out.

Imports neither keras nor tensorflow. Every event turns into one JSON object with an ``event`` key
(the ``--json`` output and ``events.jsonl``): strict JSON, which any parser reads.

JSON has no NaN or infinity, so a non-finite number is written as ``null`` and named, with its
value, in a ``non_finite`` object keyed by its path (dots between keys, ``[i]`` for list items)::

    {"event": "epoch_end", "epoch": 3, "logs": {"loss": null, "val_loss": null}, ...,
     "non_finite": {"logs.loss": "nan", "logs.val_loss": "inf"}}

``from_dict`` (and ``restore``) put the numbers back. The key is absent when every number is finite.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events."""

    event: ClassVar[str] = "event"
    per_batch: ClassVar[bool] = False
    """Sent many times an epoch: left out of events.jsonl and the command's output."""

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, **asdict(self)}

    def to_json(self) -> str:
        """One line of strict JSON: NaN and infinities as null, named under ``non_finite``."""
        non_finite: dict[str, str] = {}
        data = _strict(self.to_dict(), "", non_finite)
        if non_finite:
            data["non_finite"] = non_finite
        return json.dumps(data, allow_nan=False)


NON_FINITE = "non_finite"


def _strict(value: Any, path: str, non_finite: dict[str, str]) -> Any:
    """`value` with JSON's own types only; each non-finite number becomes None, noted by path."""
    if isinstance(value, dict):
        return {
            str(k): _strict(v, f"{path}.{k}" if path else str(k), non_finite)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_strict(v, f"{path}[{i}]", non_finite) for i, v in enumerate(value)]
    if value is None or isinstance(value, str | bool | int):
        return value
    try:
        number = float(value)  # numpy scalars and 0-d tensors
    except (TypeError, ValueError):
        return str(value)
    if math.isfinite(number):
        return number
    non_finite[path] = str(number)  # "nan", "inf" or "-inf"
    return None


def restore(data: dict[str, Any]) -> dict[str, Any]:
    """An event's JSON form with its non-finite numbers put back (``non_finite`` removed).

    Lines written before strict JSON (with bare NaN tokens) come back unchanged.
    """
    data = dict(data)
    for path, text in (data.pop(NON_FINITE, None) or {}).items():
        _put(data, path, float(text))
    return data


def _put(data: dict[str, Any], path: str, number: float) -> None:
    """Set the value at a dotted path; a key that itself holds dots is matched whole first."""
    if path in data or "." not in path:
        data[path] = number
        return
    head, rest = path.split(".", 1)
    inner = data.get(head)
    if isinstance(inner, dict):
        data[head] = inner = dict(inner)
        _put(inner, rest, number)


@dataclass(frozen=True)
class RunStarted(Event):
    event: ClassVar[str] = "run_started"
    run_dir: str
    spec: dict[str, Any]
    epochs: int = 0
    steps_per_epoch: int = 0
    train_samples: int = 0
    valid_samples: int = 0
    initial_epoch: int = 0
    """Epochs already done: more than 0 when the run resumes an earlier one."""
    cluster: dict[str, Any] | None = None
    """Several processes: coordinator, processes, process_id, replicas, batches and this one's rows."""
    preparation: list[str] | None = None
    """How the data was prepared, step by step in words (columns dropped and why, missing
    values, label encoding, split, scaling)."""


@dataclass(frozen=True)
class EpochStarted(Event):
    event: ClassVar[str] = "epoch_started"
    epoch: int
    """Counted from 1."""


@dataclass(frozen=True)
class BatchEnded(Event):
    event: ClassVar[str] = "batch_end"
    per_batch: ClassVar[bool] = True
    epoch: int
    batch: int
    """Batches done in this epoch, counted from 1."""
    steps: int
    loss: float


@dataclass(frozen=True)
class LinePoints(Event):
    """A linear unit's training data as the model sees it (at most 1,000 points, evenly
    sampled), sent once as its run starts: the SGD lesson's picture."""

    event: ClassVar[str] = "line_points"
    per_batch: ClassVar[bool] = True
    x: list[float]
    y: list[float]


@dataclass(frozen=True)
class Minibatch(Event):
    """The minibatch a linear unit just stepped on, and its line after the step (sent at a
    bounded rate, not for every batch)."""

    event: ClassVar[str] = "minibatch"
    per_batch: ClassVar[bool] = True
    epoch: int
    batch: int
    """Batches done in this epoch, counted from 1."""
    x: list[float]
    y: list[float]
    w: float
    b: float


@dataclass(frozen=True)
class EpochEnded(Event):
    event: ClassVar[str] = "epoch_end"
    epoch: int
    logs: dict[str, float]
    seconds: float
    best_epoch: int = 0
    """The best epoch so far by the monitored value."""
    wait: int = 0
    """Epochs since the monitored value last improved by min_delta (early stopping's counter)."""
    patience: int = 0
    """Early stopping's patience; 0 when early stopping is off."""


@dataclass(frozen=True)
class EarlyStopped(Event):
    event: ClassVar[str] = "early_stopping"
    stopped_epoch: int
    best_epoch: int
    restored: bool
    monitor: str = "val_loss"
    best_value: float | None = None


@dataclass(frozen=True)
class NanDetected(Event):
    event: ClassVar[str] = "nan_detected"
    epoch: int
    batch: int


@dataclass(frozen=True)
class Paused(Event):
    event: ClassVar[str] = "paused"
    epoch: int


@dataclass(frozen=True)
class Resumed(Event):
    event: ClassVar[str] = "resumed"
    epoch: int


@dataclass(frozen=True)
class Stopped(Event):
    event: ClassVar[str] = "stopped"
    epoch: int
    restored_epoch: int = 0
    """The epoch whose weights the model holds after the stop (0: the last one)."""


@dataclass(frozen=True)
class Finished(Event):
    event: ClassVar[str] = "finished"
    epochs_run: int
    best_epoch: int
    best: dict[str, float]
    run_dir: str
    reason: str = "completed"
    """completed | early_stopping | stopped | nan."""
    seconds: float = 0.0
    extreme: dict[str, Any] | None = None
    """The monitored value's best as the course reads it off the curve, whatever min_delta
    says: {"monitor", "kind" ("lowest" or "highest"), "value", "epoch"}."""


@dataclass(frozen=True)
class Failed(Event):
    event: ClassVar[str] = "failed"
    error: str
    run_dir: str = ""


EVENTS: dict[str, type[Event]] = {
    cls.event: cls
    for cls in (
        RunStarted,
        EpochStarted,
        BatchEnded,
        LinePoints,
        Minibatch,
        EpochEnded,
        EarlyStopped,
        NanDetected,
        Paused,
        Resumed,
        Stopped,
        Finished,
        Failed,
    )
}


def from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its JSON form (events.jsonl), non-finite numbers included."""
    data = restore(data)
    cls = EVENTS[data.pop("event")]
    return cls(**data)


Subscriber = Callable[[Event], None]


@dataclass
class EventBus:
    """Hands each event to every subscriber, in order, from the publishing thread.

    Subscribers must return quickly (the app's ``post_message`` does); one that raises misses that
    event only, so a broken view never stops training: its traceback goes to the "layerlab" log
    (the app's log file, a run's log.txt) and it still gets the events that follow.
    """

    _subscribers: list[Subscriber] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken view must not stop training
                logging.getLogger("layerlab").exception(
                    "a subscriber failed on the %s event (%r)", event.event, subscriber
                )
