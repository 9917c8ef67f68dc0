"""A run's weights on disk: the best model and the resume state, written off the training thread.

The training thread only hands over numpy arrays it already has (early stopping's best weights) or
takes a cheap copy every few seconds (the resume state); a writer thread of its own turns them into
files. It keeps a twin of the model (built from its description) to serialise, so the live model is
never read while it trains. Every file is replaced atomically (core.files): `model.keras` always
loads, and a killed process leaves no temporary file.

Files in a run folder:
    model.keras   the best epoch's model (loads with ``keras.saving.load_model(path, safe_mode=True)``)
    last.keras    the last epoch's model, where it differs from the best, written when the run ends
    resume.npz    weights and optimizer state of the last saved epoch, with the early-stopping state
"""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .files import replace_bytes

MODEL_EVERY_S = 1.5
"""model.keras is rewritten at most this often while training (always at the end): with the write
itself, a best epoch is on disk within two seconds."""
BACKUP_EVERY_S = 2.0
"""The resume state is taken at most this often while training (always at the end)."""


@dataclass(frozen=True)
class Weights:
    """One epoch's weights, as numpy arrays nobody changes any more."""

    epoch: int
    arrays: list[np.ndarray]


@dataclass(frozen=True)
class ResumeState:
    """What `--resume` needs to go on as if the run had never stopped (Keras' BackupAndRestore
    semantics: weights, optimizer state and epoch counter, plus early stopping's memory)."""

    epoch: int
    """Epochs completed."""
    weights: list[np.ndarray]
    optimizer: list[np.ndarray]
    best: Weights | None
    state: dict[str, Any] = field(default_factory=dict)
    """best_epoch, best_logs, and early stopping's best, best_epoch and wait."""


def take_resume_state(
    model: keras.Model, epoch: int, best: Weights | None, state: dict[str, Any]
) -> ResumeState:
    """Copy what resuming needs out of the live model (in the training thread, between epochs)."""
    optimizer = [np.array(keras.ops.convert_to_numpy(v)) for v in model.optimizer.variables]
    return ResumeState(epoch, model.get_weights(), optimizer, best, dict(state))


def write_resume_state(path: Path, resume: ResumeState) -> None:
    arrays: dict[str, Any] = {}  # Any: numpy's stub reads **arrays as savez's allow_pickle too
    for prefix, values in (
        ("w", resume.weights),
        ("o", resume.optimizer),
        ("b", resume.best.arrays if resume.best else []),
    ):
        for i, value in enumerate(values):
            arrays[f"{prefix}{i}"] = value
    meta = {
        "epoch": resume.epoch,
        "best_weights_epoch": resume.best.epoch if resume.best else 0,
        "counts": [
            len(resume.weights),
            len(resume.optimizer),
            len(resume.best.arrays) if resume.best else 0,
        ],
        **resume.state,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    replace_bytes(path, buffer.getvalue())


def read_resume_state(path: Path) -> ResumeState:
    """Read resume.npz back (pickles refused: it is plain arrays and JSON)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        n_weights, n_optimizer, n_best = meta.pop("counts")
        weights = [data[f"w{i}"] for i in range(n_weights)]
        optimizer = [data[f"o{i}"] for i in range(n_optimizer)]
        best_arrays = [data[f"b{i}"] for i in range(n_best)]
    epoch = meta.pop("epoch")
    best_epoch = meta.pop("best_weights_epoch")
    best = Weights(best_epoch, best_arrays) if n_best else None
    return ResumeState(epoch, weights, optimizer, best, meta)


def restore_resume_state(model: keras.Model, resume: ResumeState) -> None:
    """Put the saved weights and optimizer state into a freshly built, compiled model."""
    model.set_weights(resume.weights)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = model.optimizer.variables
    if len(variables) != len(resume.optimizer):
        raise ValueError(
            f"the saved optimizer state has {len(resume.optimizer)} variables, this model's optimizer {len(variables)}"
        )
    for variable, value in zip(variables, resume.optimizer, strict=True):
        variable.assign(value)


class _KerasBuffer(io.BytesIO):
    """An in-memory .keras file: Keras writes its archive into any binary stream named *.keras."""

    def __str__(self) -> str:
        return "model.keras"


def model_bytes(model: keras.Model) -> bytes:
    """The model as the bytes of a .keras file (Keras' own format)."""
    buffer = _KerasBuffer()
    keras.saving.save_model(model, buffer)
    return buffer.getvalue()


class RunFilesWriter:
    """Writes model.keras, last.keras and resume.npz from a thread of its own, newest first.

    The training thread calls `offer_best`, `offer_resume` (both return at once, replacing anything
    still waiting) and, at the end, `finish`, which waits until everything is on disk. A write that
    fails (a full disk) is kept in `error`; the weights stay in memory and are offered again.
    """

    def __init__(self, model: keras.Model, run_dir: Path):
        self.run_dir = Path(run_dir)
        # The model's description, taken now, between epochs: under JAX the live model's
        # variables (its optimizer's learning rate too) hold no value while an epoch runs, so
        # neither clone_model nor get_config may touch it from this writer's thread later.
        self._config = keras.saving.serialize_keras_object(model)
        self._twin: keras.Model | None = None
        self._ready = threading.Condition()
        self._best: Weights | None = None
        self._last: Weights | None = None
        self._resume: ResumeState | None = None
        self._closing = False
        self._busy = False
        self._last_model_write = 0.0
        self.written_epoch = 0
        """The epoch whose weights model.keras holds (0: none yet)."""
        self.error: OSError | None = None
        self._thread = threading.Thread(target=self._loop, name="layerlab-writer", daemon=True)
        self._thread.start()

    model_path = property(lambda self: self.run_dir / "model.keras")
    last_path = property(lambda self: self.run_dir / "last.keras")
    resume_path = property(lambda self: self.run_dir / "resume.npz")

    def offer_best(self, best: Weights) -> None:
        with self._ready:
            self._best = best
            self._ready.notify()

    def offer_resume(self, resume: ResumeState) -> None:
        with self._ready:
            self._resume = resume
            self._ready.notify()

    def finish(
        self,
        best: Weights | None,
        last: Weights | None,
        resume: ResumeState | None,
        timeout: float | None = None,
    ) -> bool:
        """Write what is left (the best model at once, the last epoch's where it differs) and stop.

        Returns True when everything reached the disk.
        """
        with self._ready:
            if best is not None and best.epoch != self.written_epoch:
                self._best = best
            if last is not None and (best is None or last.epoch != best.epoch):
                self._last = last
            if resume is not None:
                self._resume = resume
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive() and self.error is None

    # -- the writer thread ------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._ready:
                while not self._due():
                    if self._closing and not self._pending():
                        return
                    self._ready.wait(self._wait_time())
                best, self._best = (self._best, None) if self._model_due() else (None, self._best)
                last, self._last = (self._last, None) if self._closing else (None, self._last)
                resume, self._resume = self._resume, None
            self._write(best, last, resume)

    def _pending(self) -> bool:
        return self._best is not None or self._last is not None or self._resume is not None

    def _model_due(self) -> bool:
        return self._best is not None and (
            self._closing or time.monotonic() - self._last_model_write >= MODEL_EVERY_S
        )

    def _due(self) -> bool:
        return self._model_due() or self._resume is not None or (self._closing and self._pending())

    def _wait_time(self) -> float | None:
        if self._best is None:
            return None if not self._closing else 0.05
        return max(0.01, MODEL_EVERY_S - (time.monotonic() - self._last_model_write))

    def _write(
        self, best: Weights | None, last: Weights | None, resume: ResumeState | None
    ) -> None:
        try:
            if best is not None:
                self._last_model_write = time.monotonic()
                self._save_model(best, self.model_path)
                self.written_epoch = best.epoch
            if last is not None:
                self._save_model(last, self.last_path)
            if resume is not None:
                write_resume_state(self.resume_path, resume)
        except OSError as exc:
            self.error = exc
            with self._ready:  # keep them for another try (the end of the run tries once more)
                if best is not None and self._best is None:
                    self._best = best
                if self._closing:
                    self._best = self._last = self._resume = None
        except Exception as exc:  # a model Keras cannot save: say so, never crash the run
            self.error = OSError(0, f"{type(exc).__name__}: {exc}")

    def _save_model(self, weights: Weights, path: Path) -> None:
        twin = self._twin_model()
        twin.set_weights(weights.arrays)
        replace_bytes(path, model_bytes(twin))

    def _twin_model(self) -> keras.Model:
        if self._twin is None:
            # Built and compiled from the description, optimizer included (zeros): a file whose
            # optimizer is unbuilt makes load_model warn that it skips the optimizer's variables.
            self._twin = keras.saving.deserialize_keras_object(self._config)
        return self._twin
