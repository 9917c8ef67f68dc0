"""A training session: model.fit in a background thread, publishing typed events, with stop and pause.

Everything that can be Keras' own is: EarlyStopping decides when to stop and restores the best
weights, CSVLogger writes history.csv row by row, TerminateOnNaN's test finds a diverged loss.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core import accel, events, runs
from core import model as models
from core.data import Dataset, load_dataset
from core.spec import Spec

CHECKPOINT_EVERY_S = 10.0
"""The best model is written at most this often while training, and always at the end."""


@dataclass
class Prepared:
    """What a session trains: the data, the compiled model, and what the spec resolved to."""

    dataset: Dataset
    model: keras.Model
    loss: str
    metrics: list[str]
    plan: Any


class _Control(keras.callbacks.Callback):
    """Pause and stop between batches; time and announce each epoch."""

    def __init__(self, session: TrainingSession):
        super().__init__()
        self.session = session
        self.epoch = 0
        self.started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.started = time.perf_counter()
        self.session._publish(events.EpochStarted(self.epoch))

    def on_train_batch_begin(self, batch, logs=None):
        session = self.session
        if session._pause.is_set() and not session._stop.is_set():
            session._publish(events.Paused(self.epoch))
            while session._pause.is_set() and not session._stop.is_set():
                session._pause_released.wait(0.1)
            session._publish(events.Resumed(self.epoch))
        if session._stop.is_set():
            self.model.stop_training = True
            session._stopped_at = self.epoch


class _Batches(keras.callbacks.TerminateOnNaN):
    """Reports each batch's loss and ends the run on a NaN loss, dispatched off the training loop."""

    # Off the training loop only under TensorFlow: JAX may free a step's outputs (donated
    # buffers) before a callback running beside the next step reads them.
    async_safe = keras.backend.backend() == "tensorflow"

    def __init__(self, session: TrainingSession):
        super().__init__()
        self.session = session

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", math.nan))
        session = self.session
        epoch = session._control.epoch
        if math.isnan(loss) or math.isinf(loss):
            if session._nan is None:
                session._nan = (epoch, batch + 1)
                session._publish(events.NanDetected(epoch, batch + 1))
            self.model.stop_training = True
            return
        session._publish(events.BatchEnded(epoch, batch + 1, session.steps_per_epoch, loss))


class _EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping, remembering when it fired so the session can say so."""

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self.restored = self.restore_best_weights and self.best_weights is not None


class _Epochs(keras.callbacks.Callback):
    """Tracks the best epoch, keeps its weights for a stop, checkpoints, and publishes epoch_end."""

    def __init__(self, session: TrainingSession, monitor: str, early: _EarlyStopping | None):
        super().__init__()
        self.session, self.monitor, self.early = session, monitor, early
        self.best_value = math.inf
        self.best_epoch = 0
        self.best_logs: dict[str, float] = {}
        self.best_weights: list[np.ndarray] | None = None
        self.last_checkpoint = 0.0
        self.dirty = False

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        session = self.session
        seconds = time.perf_counter() - session._control.started
        session.history.append(logs)
        if self.early is not None:
            # Early stopping's own idea of "best" (it counts min_delta): the epoch it restores.
            if self.early.best is not None and self.early.best_epoch + 1 != self.best_epoch:
                self.best_epoch = self.early.best_epoch + 1
                self.best_logs = session.history[self.early.best_epoch]
                self.dirty = True
                if not self.early.restore_best_weights:
                    self.best_weights = self.model.get_weights()
        else:
            value = logs.get(self.monitor)
            sign = -1.0 if _maximised(self.monitor) else 1.0
            if value is not None and not math.isnan(value) and sign * value < self.best_value:
                self.best_value = sign * value
                self.best_epoch = epoch + 1
                self.best_logs = logs
                self.dirty = True
                self.best_weights = self.model.get_weights()
        wait = self.early.wait if self.early is not None else epoch + 1 - self.best_epoch
        patience = self.early.patience if self.early is not None else 0
        session._publish(events.EpochEnded(epoch + 1, logs, seconds, self.best_epoch, wait, patience))
        now = time.monotonic()
        if self.dirty and session.writer and now - self.last_checkpoint >= CHECKPOINT_EVERY_S:
            self.last_checkpoint = now
            self.dirty = False
            session._checkpoint(self.best_weights_now())

    def best_weights_now(self) -> list[np.ndarray] | None:
        if self.early is not None and self.early.restore_best_weights:
            return self.early.best_weights
        return self.best_weights


def _maximised(monitor: str) -> bool:
    name = monitor.removeprefix("val_")
    return "acc" in name or name in ("auc", "precision", "recall")


class _HistoryCSV(keras.callbacks.CSVLogger):
    """Keras' CSVLogger with epochs counted from 1, like every other place in layerlab."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch + 1, logs)


class TrainingSession:
    """Trains one spec; publish/subscribe events; stop, pause and resume from any thread.

    Typical use: ``session = TrainingSession(spec); session.subscribe(print); session.prepare();
    session.start(); session.join()``. ``run()`` does the same in the calling thread.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        dataset: Dataset | None = None,
        runs_dir: str | Path | None = None,
        write_run: bool = True,
    ):
        self.spec = spec
        self.dataset = dataset
        self.runs_dir = runs_dir
        self.write_run = write_run
        self.bus = events.EventBus()
        self.history: list[dict[str, float]] = []
        self.prepared: Prepared | None = None
        self.writer: runs.RunWriter | None = None
        self.result: events.Finished | events.Failed | None = None
        self.steps_per_epoch = 0
        self.state = "idle"
        """idle | prepared | running | finished | failed."""
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._pause_released = threading.Event()
        self._stopped_at = 0
        self._nan: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self._control = _Control(self)

    # -- subscribers ------------------------------------------------------------------------

    def subscribe(self, subscriber: events.Subscriber):
        """Call `subscriber(event)` for every event, from the training thread; returns an unsubscribe."""
        return self.bus.subscribe(subscriber)

    def _publish(self, event: events.Event) -> None:
        if self.writer is not None:
            self.writer.write_event(event)
        self.bus.publish(event)

    # -- control ----------------------------------------------------------------------------

    @property
    def model(self) -> keras.Model | None:
        return self.prepared.model if self.prepared else None

    @property
    def run_dir(self) -> Path | None:
        return self.writer.run_dir if self.writer else None

    def stop(self) -> None:
        """End training after the batch in progress; the model keeps its best weights."""
        self._stop.set()
        self._pause_released.set()

    def pause(self) -> None:
        """Hold training before the next batch."""
        self._pause_released.clear()
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()
        self._pause_released.set()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    # -- running ----------------------------------------------------------------------------

    def prepare(self) -> Prepared:
        """Load the data, plan the accelerator, build and compile the model.

        Raises the bad-input errors (DataError, ModelError, AcceleratorError) before any run
        folder is made.
        """
        spec = self.spec
        if self.dataset is None:
            self.dataset = load_dataset(spec)
        data = self.dataset
        plan = accel.plan(spec.accelerator, accel.detect(), spec.fit.batch_size)
        with accel.apply(plan):
            model = models.build(spec, data.input_shape, seed=spec.data.seed)
            loss, metrics = models.compile_model(model, spec, data.task)
        self.prepared = Prepared(data, model, loss, metrics, plan)
        n = len(data.x_train)
        self.steps_per_epoch = max(1, math.ceil(n / plan.fit_batch))
        self.state = "prepared"
        return self.prepared

    def start(self) -> threading.Thread:
        """Train in a background thread (preparing first if needed)."""
        self._thread = threading.Thread(target=self.run, name="layerlab-training", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> events.Finished | events.Failed | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def run(self) -> events.Finished | events.Failed:
        """Train to the end in this thread and return the closing event."""
        started = time.perf_counter()
        try:
            if self.prepared is None:
                self.prepare()
            self.state = "running"
            return self._fit(started)
        except Exception as exc:  # every failure becomes an event, never a crash
            self.state = "failed"
            message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
            self.result = events.Failed(message, str(self.run_dir or ""))
            self._publish(self.result)
            return self.result
        finally:
            if self.writer is not None:
                self.writer.close()

    def _fit(self, started: float) -> events.Finished:
        spec, prep = self.spec, self.prepared
        data = prep.dataset
        has_valid = data.x_valid is not None and len(data.x_valid) > 0
        monitor = "val_loss" if has_valid else "loss"
        if self.write_run:
            run_dir = runs.new_run_dir(spec.name, self.runs_dir)
            self.writer = runs.RunWriter(run_dir, spec)
        callbacks: list[keras.callbacks.Callback] = [self._control, _Batches(self)]
        early = None
        if spec.fit.early_stopping is not None:
            es = spec.fit.early_stopping
            monitor = es.monitor
            early = _EarlyStopping(
                monitor=es.monitor,
                min_delta=es.min_delta,
                patience=es.patience,
                restore_best_weights=es.restore_best_weights,
                start_from_epoch=es.start_from_epoch,
                mode="max" if _maximised(es.monitor) else "min",
            )
            callbacks.append(early)
        tracker = _Epochs(self, monitor, early)
        callbacks.append(tracker)
        if self.writer is not None:
            callbacks.append(_HistoryCSV(str(self.writer.history_path)))
        self._publish(
            events.RunStarted(
                str(self.run_dir or ""),
                spec.summary(),
                spec.fit.epochs,
                self.steps_per_epoch,
                len(data.x_train),
                len(data.x_valid) if has_valid else 0,
            )
        )
        with accel.apply(prep.plan):
            prep.model.fit(
                data.x_train,
                data.y_train,
                validation_data=(data.x_valid, data.y_valid) if has_valid else None,
                batch_size=prep.plan.fit_batch,
                epochs=spec.fit.epochs,
                shuffle=True,
                verbose=0,
                callbacks=callbacks,
            )
        epochs_run = len(self.history)
        reason = "completed"
        restored_epoch = tracker.best_epoch
        if self._nan is not None:
            reason = "nan"
        elif self._stop.is_set():
            reason = "stopped"
        elif early is not None and early.stopped_epoch > 0:
            reason = "early_stopping"
            self._publish(
                events.EarlyStopped(
                    early.stopped_epoch + 1,
                    early.best_epoch + 1,
                    early.restored,
                    early.monitor,
                    None if early.best is None else float(early.best),
                )
            )
        # A user's stop or a NaN keeps the best weights seen, as early stopping would.
        if reason in ("stopped", "nan") and not (early is not None and early.restore_best_weights):
            if tracker.best_weights is not None:
                prep.model.set_weights(tracker.best_weights)
            else:
                restored_epoch = 0
        if reason == "stopped":
            self._publish(events.Stopped(self._stopped_at or epochs_run, restored_epoch))
        if self.writer is not None and tracker.best_epoch:
            self._checkpoint(None)
        best = {k: v for k, v in tracker.best_logs.items()}
        self.result = events.Finished(
            epochs_run,
            tracker.best_epoch,
            best,
            str(self.run_dir or ""),
            reason,
            time.perf_counter() - started,
        )
        self.state = "finished"
        self._publish(self.result)
        return self.result

    def _checkpoint(self, weights: list[np.ndarray] | None) -> None:
        """Write model.keras with the given weights (None: the model as it is now)."""
        model = self.prepared.model
        path = self.writer.model_path
        tmp = path.with_name(".model.tmp.keras")
        if weights is None:
            model.save(tmp)
        else:
            current = model.get_weights()
            model.set_weights(weights)
            try:
                model.save(tmp)
            finally:
                model.set_weights(current)
        tmp.replace(path)
