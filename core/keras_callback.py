"""LayerlabCallback: a Keras callback that makes any `model.fit` write a layerlab run folder.

    from layerlab import LayerlabCallback
    model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[LayerlabCallback("runs")])

The folder is the one `layerlab train` writes (history.csv, events.jsonl, model.keras with the
best epoch's weights, summary.txt, log.txt, provenance.json, the writer's lock), so `layerlab
watch`, the Runs screen and `layerlab runs` follow and read it. Such a run has no spec: model.txt
holds the model summary and the compile settings instead. Works on every Keras backend.

Per epoch it only appends a row and an event line and, when the monitored value improved, copies
the weights; model.keras is written by a thread of its own (core.checkpoint).
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import keras

from . import callbacks as cb
from . import events, runs
from .checkpoint import RunFilesWriter, Weights
from .model import keep_tensorflow_out
from .runlog import RunLog

log = logging.getLogger("layerlab")

FINISH_TIMEOUT_S = 120.0
"""How long the end of training waits for model.keras to reach the disk."""


class LayerlabCallback(keras.callbacks.Callback):
    """Writes a layerlab run folder from a Keras script's own `model.fit`.

    Args:
        runs_dir: Where run folders go (default: $LAYERLAB_RUNS, else ./runs). Each `fit` makes
            its own folder, RUNS/<YYYYmmdd-HHMMSS>-<name>/.
        name: The run's name (default: the model's name).
        monitor: The logged value whose best epoch model.keras keeps (default: val_loss when
            validation runs, else loss); bigger is better for accuracy-like names, as in Keras.

    Attributes:
        run_dir: The folder of the latest `fit` (None before the first).
    """

    def __init__(
        self,
        runs_dir: str | os.PathLike | None = None,
        name: str | None = None,
        monitor: str | None = None,
    ):
        super().__init__()
        self.runs_dir, self.name, self.monitor = runs_dir, name, monitor
        self.run_dir: Path | None = None
        self._writer: runs.RunWriter | None = None
        self._files: RunFilesWriter | None = None
        self._log: RunLog | None = None
        self._bus = events.EventBus()

    # -- Keras' hooks -------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self._writer is not None:  # the last fit never ended (interrupted): close it first
            self._close("stopped")
        keep_tensorflow_out()
        model = self.model
        self.run_dir = runs.new_run_dir(self.name or model.name, self.runs_dir).resolve()
        self._writer = runs.RunWriter(self.run_dir, None, _provenance(model))
        self._log = RunLog(self.run_dir, self._bus)
        (self.run_dir / runs.SPEC_LESS).write_text(model_text(model), encoding="utf-8")
        try:
            self._files = RunFilesWriter(model, self.run_dir)
        except Exception as exc:  # a model Keras cannot describe: train on, without model.keras
            log.warning("model.keras will not be written: %s: %s", type(exc).__name__, exc)
            self._files = None
        self._csv = cb.HistoryCSV(str(self._writer.history_path))
        self._csv.set_model(model)
        self._csv.on_train_begin()
        self._started = time.perf_counter()
        self._epoch_started = self._started
        self._epochs_run = 0
        self._best: Weights | None = None
        self._best_epoch, self._best_logs, self._best_value = 0, {}, math.inf
        self._last_logs: dict[str, float] = {}
        epochs = int(self.params.get("epochs") or 0)
        self._epochs = epochs
        self._publish(
            events.RunStarted(
                str(self.run_dir),
                _summary(model, self.name or model.name, epochs),
                epochs,
                int(self.params.get("steps") or 0),
            )
        )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            return
        logs = {k: float(v) for k, v in (logs or {}).items()}
        seconds = time.perf_counter() - self._epoch_started
        self._csv.on_epoch_end(epoch, logs)
        self._epochs_run, self._last_logs = epoch + 1, logs
        monitor = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
        value = logs.get(monitor)
        sign = -1.0 if cb.maximised(monitor) else 1.0
        if value is not None and math.isfinite(value) and sign * value < self._best_value:
            self._best_value, self._best_epoch, self._best_logs = sign * value, epoch + 1, logs
            if self._files is not None:
                self._best = Weights(epoch + 1, self.model.get_weights())
                self._files.offer_best(self._best)
        self._publish(
            events.EpochEnded(
                epoch + 1, logs, seconds, self._best_epoch, epoch + 1 - self._best_epoch
            )
        )

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._close(self._reason())

    # -- the ending ---------------------------------------------------------------------------

    def _reason(self) -> str:
        if not all(math.isfinite(v) for v in self._last_logs.values()):
            return "nan"
        stopped_early = 0 < self._epochs_run < self._epochs and self.model.stop_training
        return "early_stopping" if stopped_early else "completed"

    def _close(self, reason: str) -> None:
        """Write the best model (the last weights when nothing was monitored), then the ending."""
        writer, files = self._writer, self._files
        assert writer is not None and self.run_dir is not None
        self._csv.on_train_end()
        best = self._best
        if best is None and self._epochs_run and files is not None:
            best = Weights(self._epochs_run, self.model.get_weights())
        if files is not None and not files.finish(best, None, None, FINISH_TIMEOUT_S):
            # Training itself went well: the run ends as it did, log.txt says what is missing.
            error = files.error or OSError(0, "it was still being written")
            log.warning("model.keras could not be written: %s", error.strerror or error)
        self._publish(
            events.Finished(
                self._epochs_run,
                self._best_epoch,
                dict(self._best_logs),
                str(self.run_dir),
                reason,
                time.perf_counter() - self._started,
            )
        )
        if self._log is not None:
            self._log.close()
        writer.close()
        self._writer = self._files = self._log = None

    def _publish(self, event: events.Event) -> None:
        if self._writer is not None:
            self._writer.write_event(event)
        self._bus.publish(event)


def model_text(model: keras.Model) -> str:
    """model.txt: what stands in for a spec, the model summary and the compile settings."""
    lines = [
        "A run written by LayerlabCallback from a Keras script: it has no spec.toml.",
        "",
        "compile settings",
        *(f"  {key}: {value}" for key, value in compile_settings(model).items()),
        "",
    ]
    try:
        model.summary(print_fn=lambda text, line_break=True: lines.append(text), line_length=100)
    except Exception as exc:  # a model Keras cannot summarise still trains
        lines.append(f"(no summary: {type(exc).__name__}: {exc})")
    return "\n".join(lines) + "\n"


def compile_settings(model: keras.Model) -> dict[str, Any]:
    """The optimizer (and its learning rate), loss and metrics the model was compiled with."""
    optimizer = getattr(model, "optimizer", None)
    config: dict[str, Any] = {}
    try:
        config = model.get_compile_config() or {}
    except Exception:  # compiled in a way Keras cannot describe: the names below still help
        config = {}
    settings: dict[str, Any] = {
        "optimizer": type(optimizer).__name__ if optimizer is not None else None,
        "learning_rate": _learning_rate(optimizer),
        "loss": _named(config.get("loss", getattr(model, "loss", None))),
        "metrics": _named(config.get("metrics")) or [],
    }
    return settings


def _learning_rate(optimizer: Any) -> float | str | None:
    if optimizer is None:
        return None
    try:
        return float(f"{float(keras.ops.convert_to_numpy(optimizer.learning_rate)):.7g}")
    except Exception:  # a schedule
        return type(getattr(optimizer, "_learning_rate", None)).__name__


def _named(value: Any) -> Any:
    """Losses and metrics as names: a serialised Keras object by its class or registered name."""
    if isinstance(value, dict):
        if "class_name" in value:
            config = value.get("config")
            return (
                config.get("name", value["class_name"])
                if isinstance(config, dict)
                else value["class_name"]
            )
        return {k: _named(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_named(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return getattr(value, "name", None) or getattr(value, "__name__", None) or type(value).__name__


def _summary(model: keras.Model, name: str, epochs: int) -> dict[str, Any]:
    """The run_started event's summary, with the keys a spec's summary has where they are known."""
    settings = compile_settings(model)
    return {
        "name": name,
        "spec_less": True,
        "data": "",
        "layers": [type(layer).__name__ for layer in model.layers],
        "optimizer": settings["optimizer"],
        "learning_rate": settings["learning_rate"],
        "loss": settings["loss"],
        "epochs": epochs,
    }


def _provenance(model: keras.Model) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        layerlab = version("layerlab")
    except PackageNotFoundError:
        layerlab = "unknown"
    return {
        "layerlab": layerlab,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
        "host": platform.node(),
        "command": list(sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "written_by": "LayerlabCallback",
        "compile": json.loads(json.dumps(compile_settings(model), default=str)),
    }
