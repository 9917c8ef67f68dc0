"""Reading a learning curve the way the course does: improving, underfitting, overfitting, diverged.

Pure functions over a history (one ``logs`` dict per finished epoch, oldest first), without Keras
or a UI. Every threshold is a constant below, so the rules can be read and tuned in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Kind = Literal["starting", "improving", "underfitting", "overfitting", "diverged", "flat"]

MIN_EPOCHS = 3
"""Fewer finished epochs than this are too few to judge: the diagnosis is "starting"."""
WINDOW = 5
"""How many recent epochs "still improving" and "flat" look back over."""
IMPROVE_REL = 0.01
"""The monitored loss must fall by more than this fraction over the window to count as improving."""
OVERFIT_EPOCHS = 3
"""Validation loss must have risen from its lowest for at least this many epochs to be overfitting."""
RISE_REL = 0.01
"""...and now stand this fraction above its lowest, so that noise is not called overfitting."""
GAP_REL = 0.10
"""A gap (validation minus training loss) within this fraction of the validation loss is "close"."""
DIVERGE_GROWTH = 3.0
"""Training loss this many times above its first epoch's value has diverged."""


@dataclass(frozen=True)
class Diagnosis:
    """What the curves say, as a kind for code and one line of text for the user."""

    kind: Kind
    text: str


def diagnose(
    history: list[dict[str, float]],
    *,
    patience: int | None = None,
    min_delta: float = 0.0,
    ended: str | None = None,
) -> Diagnosis:
    """Diagnose a training run from its per-epoch logs.

    Args:
        history: One dict per finished epoch (``loss``, and ``val_loss`` when there is validation
            data); non-numbers count as NaN, and an epoch without a key repeats its last value.
        patience: Early stopping's patience, when it is on; the overfitting line then says when
            it will stop.
        min_delta: Early stopping's min_delta: an epoch improves only by more than this, so
            "rising for N epochs" counts from the epoch early stopping counts from.
        ended: Why the run ended (a Finished reason), once it has: the words then describe the
            finished run instead of what is to come.

    Returns:
        The diagnosis of the latest epoch.
    """
    loss = _series(history, "loss")
    val = _series(history, "val_loss")
    has_val = any(math.isfinite(v) for v in val)
    if not history:
        return Diagnosis("starting", "starting: no epoch has finished yet")
    for name, values in (("loss", loss), ("val_loss", val if has_val else [])):
        if values and not math.isfinite(values[-1]):
            what = "NaN" if math.isnan(values[-1]) else "infinite"
            return Diagnosis(
                "diverged", f"diverged: the {name} is {what} — lower the learning rate"
            )
    train = _finite(loss)
    if len(train) >= 2 and train[-1] > DIVERGE_GROWTH * train[0] > 0:
        grew = train[-1] / train[0]
        return Diagnosis(
            "diverged",
            f"diverged: training loss grew {grew:.1f}× above its first epoch — lower the learning rate",
        )
    if len(history) < MIN_EPOCHS:
        n = len(history)
        return Diagnosis(
            "starting", f"starting: {n} epoch{'s' if n > 1 else ''} in — too early to judge"
        )
    if has_val:
        overfit = _overfitting(loss, val, patience, min_delta, ended)
        if overfit is not None:
            return overfit
    monitor, values = ("val_loss", val) if has_val else ("loss", loss)
    found = _trend(monitor, values, loss, val if has_val else None)
    if ended is None:
        return found
    text = found.text
    if found.kind == "improving":
        text += " when the run ended — more epochs would help"
    return Diagnosis(found.kind, f"at the end: {text}")


def _overfitting(
    loss: list[float], val: list[float], patience: int | None, min_delta: float, ended: str | None
) -> Diagnosis | None:
    """Validation loss rising from its best for a while, while training loss keeps falling.

    The best is early stopping's: the last epoch that improved on the one before by more than
    `min_delta`; the rise is measured from the lowest value.
    """
    best = _best_epoch(val, min_delta)
    lowest = min(v for v in val if math.isfinite(v))
    rising = len(val) - 1 - best
    if rising < OVERFIT_EPOCHS or val[-1] <= lowest * (1 + RISE_REL):
        return None
    if not (math.isfinite(loss[-1]) and math.isfinite(loss[best]) and loss[-1] < loss[best]):
        return None
    gap = val[-1] - loss[-1]
    if ended is not None:
        stop = "early stopping ended the run" if ended == "early_stopping" else "then the run ended"
        return Diagnosis(
            "overfitting",
            f"overfitted: validation loss stopped improving after epoch {best + 1} and rose for "
            f"{rising} epochs while training loss fell (gap {_num(gap)}); {stop}",
        )
    if patience and rising < patience:
        left = patience - rising
        advice = (
            f"early stopping (patience {patience}) ends it in {left} epoch{'s' if left > 1 else ''}"
        )
    else:
        advice = "early stopping or dropout help"
    return Diagnosis(
        "overfitting",
        f"overfitting: validation loss rising for {rising} epochs while training loss falls — "
        f"gap {_num(gap)} (noise learned); {advice}",
    )


def _best_epoch(values: list[float], min_delta: float) -> int:
    """The epoch (from 0) early stopping counts from: the last to beat the best by > min_delta."""
    best, best_value = -1, math.inf
    for i, value in enumerate(values):
        if math.isfinite(value) and (best < 0 or value < best_value - min_delta):
            best, best_value = i, value
    return best


def _trend(
    monitor: str, values: list[float], loss: list[float], val: list[float] | None
) -> Diagnosis:
    """Improving, or flat; flat with the two curves close together is underfitting."""
    span = min(WINDOW, len(values) - 1)
    start, recent = values[-1 - span], _finite(values[-span:])
    if math.isfinite(start) and recent and start != 0:
        fell = (start - min(recent)) / abs(start)
        if fell > IMPROVE_REL:
            return Diagnosis(
                "improving",
                f"still improving: {monitor} fell {fell:.0%} over the last {span} epochs",
            )
    if val is None:
        return Diagnosis(
            "flat",
            f"flat: training loss stopped falling over the last {span} epochs — "
            "add validation data to tell underfitting from overfitting",
        )
    gap = val[-1] - loss[-1]
    if math.isfinite(gap) and abs(gap) <= GAP_REL * abs(val[-1]):
        return Diagnosis(
            "underfitting",
            f"underfitting: both curves flat and close (gap {_num(gap)}) — "
            "add capacity (wider or deeper) or train longer",
        )
    return Diagnosis(
        "flat",
        f"flat: val_loss stopped improving over the last {span} epochs, gap {_num(gap)} — "
        "the model has learned what it can; stop here or regularize",
    )


def _series(history: list[dict[str, float]], key: str) -> list[float]:
    """One value per epoch: NaN where it is not a number; an epoch without the key repeats the last.

    Validation every few epochs (``validation_freq``) leaves ``val_loss`` out of the others.
    """
    out: list[float] = []
    for logs in history:
        if key not in logs:
            out.append(out[-1] if out else math.nan)
            continue
        try:
            out.append(float(logs[key]))
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _num(value: float) -> str:
    """A loss-sized number, short: 0.031, 1.25, 3.1e-05."""
    return (
        f"{value:.3g}"
        if abs(value) < 1e-3 and value
        else f"{value:.3f}".rstrip("0").rstrip(".") or "0"
    )
