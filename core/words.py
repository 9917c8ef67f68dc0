"""The words for a run, in one place: event lines, why a run stopped, numbers and durations.

Imports neither keras nor tensorflow nor any UI. The headless command prints these lines, the app's
event log shows them (with a colour per `Tone`), and summary.txt is `summary_text`.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from . import events

REASONS = {
    "completed": "ran every epoch",
    "early_stopping": "early stopping: no improvement within patience",
    "stopped": "stopped by the user",
    "nan": "diverged: the loss became NaN",
}
"""Why a run ended, for each `Finished.reason`."""


class Tone(Enum):
    """What kind of news a line is: the app gives each its colour."""

    PLAIN = "plain"
    START = "start"
    GOOD = "good"
    WARN = "warn"
    STOP = "stop"
    BAD = "bad"


def number(value: float | None) -> str:
    """A metric's value as every view shows it: 0.1234, 3.1e-05, 2.62e+32, nan."""
    if value is None:
        return "none"
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.3g}"


def duration(seconds: float) -> str:
    """Seconds as 12 s, 3:05 or 1:02:03."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def reason(why: str) -> str:
    return REASONS.get(why, why)


def logs_text(logs: dict[str, float]) -> str:
    """An epoch's logs, loss first, each value beside its val_ twin: loss 0.31 val 0.35  mae …"""
    names = sorted({key.removeprefix("val_") for key in logs}, key=lambda k: (k != "loss", k))
    parts = []
    for name in names:
        part = f"{name} {number(logs[name])}" if name in logs else name
        if f"val_{name}" in logs:
            part += f" val {number(logs[f'val_{name}'])}"
        parts.append(part)
    return "  ".join(parts)


def event_line(event: events.Event, epochs: int = 0) -> tuple[str, Tone] | None:
    """One event in words, or None for those left out (batches, epoch starts).

    Args:
        event: A core event.
        epochs: The run's planned epoch count, shown as ``epoch 3/40``.
    """
    match event:
        case events.RunStarted(run_dir=run_dir, spec=spec, epochs=n, steps_per_epoch=steps):
            early = "early stopping on" if spec.get("early_stopping") else "early stopping off"
            verb = (
                f"resuming after epoch {event.initial_epoch}" if event.initial_epoch else "training"
            )
            text = (
                f"▶ {verb} {spec.get('name', '')}: {n} epochs × {steps} batches of "
                f"{spec.get('batch_size', '?')}, {event.train_samples} training / "
                f"{event.valid_samples} validation samples, {early}"
            )
            if spec.get("spec_less"):  # LayerlabCallback: the script's own fit, no spec
                text = f"▶ {verb} {spec.get('name', '')} from a Keras script (no spec): {n} epochs × {steps} batches"
            if event.cluster:
                text += "\n  " + cluster_text(event.cluster)
            if event.preparation:
                text += "\n  data: " + "\n        ".join(event.preparation)
            return text + (f"\n  run folder {run_dir}" if run_dir else ""), Tone.START
        case events.EpochEnded(epoch=epoch, logs=logs, seconds=seconds):
            of = f"/{epochs}" if epochs else ""
            text = f"epoch {epoch}{of}  {logs_text(logs)}  {seconds:.2f}s"
            if event.patience and event.wait:
                text += f"  no improvement {event.wait}/{event.patience}"
            if event.best_epoch == epoch:
                return text + "  ★ best", Tone.PLAIN
            return text, Tone.PLAIN
        case events.NanDetected(epoch=epoch, batch=batch):
            return (
                f"✗ the loss became NaN (or infinite) at epoch {epoch}, batch {batch}: training "
                "diverged — lower the learning rate",
                Tone.BAD,
            )
        case events.Paused(epoch=epoch):
            return f"⏸ paused in epoch {epoch}", Tone.WARN
        case events.Resumed(epoch=epoch):
            return f"▶ resumed in epoch {epoch}", Tone.WARN
        case events.EarlyStopped(stopped_epoch=stopped, best_epoch=best, restored=restored):
            value = (
                "" if event.best_value is None else f" ({event.monitor} {number(event.best_value)})"
            )
            kept = (
                f"weights restored to epoch {best}{value}"
                if restored
                else f"best epoch {best}{value}; the model keeps epoch {stopped}'s weights "
                "(restore_best_weights is off)"
            )
            return (
                f"■ early stopping at epoch {stopped}: {event.monitor} did not improve by "
                f"min_delta within patience; {kept}",
                Tone.STOP,
            )
        case events.Stopped(epoch=epoch, restored_epoch=restored):
            kept = (
                f"weights restored to epoch {restored}"
                if restored
                else "the model keeps its last weights"
            )
            return f"■ stopped in epoch {epoch}; {kept}", Tone.WARN
        case events.Finished(epochs_run=run, best_epoch=best, reason=why, seconds=seconds):
            return (
                f"✓ finished: {reason(why)}; {run} epochs in {duration(seconds)}, best epoch {best}",
                Tone.GOOD if why != "nan" else Tone.BAD,
            )
        case events.Failed(error=error):
            return f"✗ training failed: {error}", Tone.BAD
    return None


def cluster_text(info: dict) -> str:
    """Several processes in one line: who this is, the replicas, the global batch, this one's rows."""
    train, valid = info.get("train_rows") or {}, info.get("valid_rows") or {}
    n, i = info.get("processes", "?"), info.get("process_id", "?")
    shard = f"rows {i}::{n}: {train.get('count', '?')} of {train.get('of', '?')} training"
    if valid:
        shard += f", {valid.get('count')} of {valid.get('of')} validation"
    return (
        f"process {i} of {n} (coordinator {info.get('coordinator')}), {info.get('replicas')} replicas; "
        f"global batch {info.get('global_batch')} = {info.get('per_replica_batch')} per replica × "
        f"{info.get('replicas')}; this process trains on {shard}"
    )


HIGHER_IS_BETTER = ("accuracy", "auc", "precision", "recall")


def extreme(history: list[dict[str, float]], monitor: str) -> dict[str, Any] | None:
    """The lowest (or, for accuracy-like metrics, highest) value `monitor` took, and when."""
    values = [
        (row[monitor], i + 1) for i, row in enumerate(history) if row.get(monitor) is not None
    ]
    values = [(v, e) for v, e in values if v == v]  # NaN never counts as a best
    if not values:
        return None
    higher = any(word in monitor for word in HIGHER_IS_BETTER)
    value, epoch = (max if higher else min)(values, key=lambda pair: pair[0])
    kind = "highest" if higher else "lowest"
    return {"monitor": monitor, "kind": kind, "value": float(value), "epoch": epoch}


def summary_text(done: events.Finished) -> str:
    """The closing summary: the same words on screen, in the command's output and summary.txt."""
    best = ", ".join(f"{k} {number(v)}" for k, v in done.best.items()) or "none"
    lines = [f"epochs run: {done.epochs_run}"]
    ext = done.extreme
    if ext:
        lines.append(
            f"{ext['kind']} {ext['monitor']}: {number(ext['value'])} at epoch {ext['epoch']}"
        )
    kept = f"best epoch: {done.best_epoch}"
    if ext and ext["epoch"] != done.best_epoch and done.best_epoch:
        kept += " (restored: early stopping's best, the last to improve by more than min_delta)"
    lines += [
        kept,
        f"best: {best}",
        f"why it stopped: {reason(done.reason)}",
        f"time: {done.seconds:.1f} s",
        f"run folder: {done.run_dir or '(none: no epoch had ended)'}",
    ]
    return "\n".join(lines) + "\n"
