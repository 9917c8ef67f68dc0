"""A training session: model.fit in a background thread, publishing typed events, with stop and pause.

Everything that can be Keras' own is: EarlyStopping decides when to stop and restores the best
weights, CSVLogger writes history.csv row by row (core.callbacks). The best weights reach
model.keras soon after each improvement, written off the training thread (core.checkpoint), and a
stopped, killed or crashed run can be resumed from its folder (`TrainingSession.resume`).
"""

from __future__ import annotations

import logging
import math
import platform
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from . import accel, cluster, events, feeding, preparation, runs, words
from . import callbacks as cb
from . import model as models
from . import spec as specs
from .checkpoint import (
    ResumeState,
    RunFilesWriter,
    Weights,
    read_resume_state,
    restore_resume_state,
)
from .data import Dataset, load_dataset
from .runlog import RunLog
from .spec import Spec

FINISH_TIMEOUT_S = 120.0
"""How long the end of a run waits for its files to reach the disk."""


class ResumeError(specs.SpecError):
    """A run folder that cannot be resumed, and why."""


@dataclass
class Prepared:
    """What a session trains: the data, the compiled model, and what the spec resolved to."""

    dataset: Dataset
    model: keras.Model
    loss: str
    metrics: list[str]
    plan: Any
    cluster: dict[str, Any] | None = None
    """Several processes: who this one is, and its shard of the rows (core.cluster.shard)."""


def logged_names(loss_and_metrics: list[str], has_valid: bool) -> list[str]:
    """The names model.fit will log for these metrics: what early stopping can monitor."""
    names = ["loss", *loss_and_metrics]
    return names + [f"val_{name}" for name in names] if has_valid else names


class TrainingSession:
    """Trains one spec; publish/subscribe events; stop, pause and resume from any thread.

    Typical use: ``session = TrainingSession(spec); session.subscribe(print); session.prepare();
    session.start(); session.join()``. ``run()`` does the same in the calling thread.
    ``TrainingSession.from_run(run_dir)`` continues a stopped, killed or crashed run.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        dataset: Dataset | None = None,
        runs_dir: str | Path | None = None,
        write_run: bool = True,
        command: list[str] | None = None,
    ):
        self.spec = spec
        self.dataset = dataset
        self.runs_dir = runs_dir
        self.write_run = write_run
        self.command = list(sys.argv if command is None else command)
        self.bus = events.EventBus()
        self.history: list[dict[str, float]] = []
        self.prepared: Prepared | None = None
        self.writer: runs.RunWriter | None = None
        self.files: RunFilesWriter | None = None
        self.result: events.Finished | events.Failed | None = None
        self.state = "idle"
        """idle | prepared | running | finished | failed."""
        self.control = cb.Control(self._publish)
        self.resume_dir: Path | None = None
        """The run folder this session continues, if it resumes one."""
        self.sweep: dict[str, Any] | None = None
        """The sweep this run belongs to ({"name", "settings"}), kept in provenance.json."""
        self._resume: ResumeState | None = None
        self._peer_run_dir: Path | None = None
        """Several processes, on all but process 0: the run folder process 0 writes."""
        self._thread: threading.Thread | None = None

    @classmethod
    def from_run(
        cls,
        run_dir: str | Path,
        *,
        epochs: int | None = None,
        dataset: Dataset | None = None,
        command: list[str] | None = None,
    ) -> TrainingSession:
        """A session that continues the run in `run_dir` from its last saved epoch, in place.

        Raises ResumeError (a bad input) when the folder is not a run, is being written by a live
        process, has nothing left to do, or its data changed.
        """
        run_dir = Path(run_dir).expanduser()
        if not (run_dir / "spec.toml").is_file():
            raise ResumeError("is not a run folder (it has no spec.toml)", "", run_dir)
        pid = runs.writer_pid(run_dir)
        if pid:
            raise ResumeError(
                f"is still being written by process {pid}; stop it before resuming", "", run_dir
            )
        spec = specs.load(run_dir / "spec.toml")
        if epochs is not None:
            spec.fit.epochs = epochs
        session = cls(spec, dataset=dataset, runs_dir=run_dir.parent, command=command)
        session.resume_dir = run_dir
        return session

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
        return self.prep.model if self.prepared else None

    @property
    def prep(self) -> Prepared:
        """What `prepare` made; only to be read once it has run."""
        if self.prepared is None:
            raise RuntimeError("the session is not prepared yet")
        return self.prepared

    @property
    def run_dir(self) -> Path | None:
        return self.writer.run_dir if self.writer else self._peer_run_dir

    @property
    def steps_per_epoch(self) -> int:
        return self.control.steps_per_epoch

    def stop(self) -> None:
        """End training after the batch in progress; the model keeps its best weights."""
        self.control.stop()

    def pause(self) -> None:
        """Hold training before the next batch."""
        self.control.pause()

    def resume(self) -> None:
        """Go on after `pause`."""
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.pause_requested.is_set()

    @property
    def saved_epoch(self) -> int:
        """The epoch whose weights model.keras holds on disk now (0: none yet)."""
        return self.files.written_epoch if self.files else 0

    # -- running ----------------------------------------------------------------------------

    def prepare(self) -> Prepared:
        """Load the data, plan the accelerator, build and compile the model.

        Raises the bad-input errors (DataError, ModelError, AcceleratorError, SpecError) before
        any run folder is made.
        """
        spec = self.spec
        if self.resume_dir is not None:
            self._check_resumable()
        if self.dataset is None:
            self.dataset = load_dataset(spec)
        data = self.dataset
        plan = accel.plan(spec.accelerator, accel.detect(), spec.fit.batch_size)
        shard = None
        if plan.strategy == "multi_worker":  # each process trains on its own rows
            data, shard = cluster.shard(data, cluster.from_workers(plan.workers, plan.worker_index))
            shard.update(
                replicas=plan.replicas,
                per_replica_batch=plan.per_replica_batch,
                global_batch=plan.global_batch,
            )
        data = feeding.even_for_replicas(data, plan)
        with accel.apply(plan):
            model = models.build(spec, data.input_shape, seed=spec.data.seed)
            loss, metrics = models.compile_model(model, spec, data.task)
            if self._resume is not None:
                try:
                    restore_resume_state(model, self._resume)
                except ValueError as exc:
                    raise ResumeError(
                        f"its saved state does not fit the model: {exc}",
                        "resume.npz",
                        self.resume_dir,
                    ) from None
        self.prepared = Prepared(data, model, loss, metrics, plan, shard)
        # Its description, for copies made in other threads (Inspect's): under JAX the live
        # model's variables hold no value while an epoch runs, so it is taken now.
        self.model_config: dict[str, Any] = keras.saving.serialize_keras_object(model)
        self._check_monitor()
        self.control.steps_per_epoch = max(1, math.ceil(len(data.x_train) / plan.fit_batch))
        self.state = "prepared"
        return self.prepared

    def _check_resumable(self) -> None:
        run_dir = self.resume_dir
        assert run_dir is not None
        done = runs.read_run(run_dir).finished
        if done and done.get("reason") == "early_stopping":
            raise ResumeError(
                f"early stopping ended this run at epoch {done.get('epochs_run')}; there is nothing to resume",
                "",
                run_dir,
            )
        recorded = runs.read_provenance(run_dir).get("data_fingerprint")
        current = runs.data_fingerprint(self.spec.data_path(), self.spec.data.name)
        if recorded and recorded != current:
            raise ResumeError(
                f"its data changed since the run began ({self.spec.data_path() or self.spec.data.name}); "
                "resuming would mix two data sets: start a new run instead",
                "data",
                run_dir,
            )
        resume_path = run_dir / "resume.npz"
        if resume_path.exists():
            try:
                self._resume = read_resume_state(resume_path)
            except (OSError, ValueError, KeyError) as exc:
                raise ResumeError(
                    f"its resume state cannot be read ({exc}); start a new run instead",
                    "resume.npz",
                    run_dir,
                ) from None
        if self._resume is not None and self._resume.epoch >= self.spec.fit.epochs:
            raise ResumeError(
                f"all {self.spec.fit.epochs} epochs ran already; give --epochs N (more than {self._resume.epoch}) to train further",
                "fit.epochs",
                run_dir,
            )

    def _check_monitor(self) -> None:
        early = self.spec.fit.early_stopping
        if early is None:
            return
        data = self.prep.dataset
        has_valid = data.x_valid is not None and len(data.x_valid) > 0
        names = logged_names(self.prep.metrics, has_valid)
        if early.monitor not in names:
            raise specs.SpecError(
                f"{early.monitor!r} is not logged by this model; early stopping can monitor {', '.join(names)}",
                "fit.early_stopping.monitor",
            )

    def start(self) -> threading.Thread:
        """Train in a background thread (preparing first if needed)."""
        # Not a daemon: an interpreter that exits waits for the run to write its ending.
        self._thread = threading.Thread(target=self.run, name="layerlab-training")
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> events.Finished | events.Failed | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    @property
    def alive(self) -> bool:
        """True while the training thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> events.Finished | events.Failed:
        """Train to the end in this thread and return the closing event."""
        started = time.perf_counter()
        try:
            if self.prepared is None:
                self.prepare()
            self.state = "running"
            return self._fit(started)
        except Exception as exc:  # every failure becomes an event, never a crash
            return self._fail(exc)
        finally:
            if getattr(self, "_run_log", None) is not None:
                self._run_log.close()
            if self.writer is not None:
                self.writer.close()

    def _fail(self, exc: Exception) -> events.Failed:
        self.state = "failed"
        if isinstance(exc, OSError) and exc.strerror:
            message = f"cannot write the run folder: {exc.strerror}" + (
                f" ({exc.filename})" if exc.filename else ""
            )
        elif isinstance(exc, ValueError):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
        if (
            self.prepared is not None and self.prepared.cluster
        ):  # setting weights is a collective: the peers may be gone
            kept = f"; model.keras holds epoch {self.saved_epoch}" if self.saved_epoch else ""
        else:
            kept = self._keep_best_after_failure()
        self.result = events.Failed(message + kept, str(self.run_dir or ""))
        self._publish(self.result)
        return self.result

    def _keep_best_after_failure(self) -> str:
        """Put the best weights back in the model and try once more to write them; say where they are."""
        tracker = getattr(self, "_tracker", None)
        best = tracker.best_weights if tracker is not None else None
        if best is None or self.prepared is None:
            return ""
        self.prep.model.set_weights(best.arrays)
        if self.files is not None and self.files.finish(best, None, None, FINISH_TIMEOUT_S):
            return f"; the best weights (epoch {best.epoch}) are in model.keras"
        if self.files is not None and self.files.written_epoch:
            return f"; model.keras holds epoch {self.files.written_epoch}, the best (epoch {best.epoch}) is kept in memory"
        return f"; the best weights (epoch {best.epoch}) are kept in memory only"

    # -- the steps of a run -----------------------------------------------------------------

    def _open_run(self) -> None:
        """Make (or reopen, for a resume) the run folder, take its lock, start the file writer."""
        shard = self.prep.cluster
        if (
            shard and shard["process_id"]
        ):  # process 0 writes the run folder; this one only learns where
            self._peer_run_dir = Path(cluster.await_run_dir(FINISH_TIMEOUT_S))
            return
        if not self.write_run:
            return
        resumed = self._resume.epoch if self._resume else (0 if self.resume_dir else None)
        run_dir = self.resume_dir or runs.new_run_dir(self.spec.name, self.runs_dir)
        self.writer = runs.RunWriter(run_dir, self.spec, self._provenance(), resume_epoch=resumed)
        self._run_log = RunLog(
            run_dir, self.bus
        )  # log.txt: this run's log records, warnings and events
        self.files = RunFilesWriter(self.prep.model, run_dir)
        try:  # for predict and evaluate: model.keras alone cannot take raw rows
            preparation.save(run_dir, self.prep.dataset)
        except OSError as exc:
            logging.getLogger("layerlab").warning("could not write %s: %s", preparation.FILE, exc)
        if shard:
            cluster.share_run_dir(str(run_dir))
        if self._resume is not None and self._resume.best is not None:
            self.files.written_epoch = self._resume.best.epoch
        if resumed:
            self.history.extend(runs.read_history(self.writer.history_path)[:resumed])

    def _provenance(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "layerlab": _version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "python": platform.python_version(),
            "host": platform.node(),
            "command": self.command,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "data": str(spec.data_path() or spec.data.name),
            "data_fingerprint": runs.data_fingerprint(spec.data_path(), spec.data.name),
            **({"sweep": self.sweep} if self.sweep else {}),
        }

    def _callbacks(
        self,
    ) -> tuple[
        list[keras.callbacks.Callback], cb.BestEpoch, cb.EarlyStopping | None, cb.CaptureLast | None
    ]:
        spec, data = self.spec, self.prep.dataset
        has_valid = data.x_valid is not None and len(data.x_valid) > 0
        monitor = "val_loss" if has_valid else "loss"
        saved = self._resume.state if self._resume else {}
        best_weights = self._resume.best if self._resume else None
        early = None
        if spec.fit.early_stopping is not None:
            es = spec.fit.early_stopping
            monitor = es.monitor
            early = cb.EarlyStopping(
                monitor=es.monitor,
                min_delta=es.min_delta,
                patience=es.patience,
                restore_best_weights=es.restore_best_weights,
                start_from_epoch=es.start_from_epoch,
                # Keras infers the direction from the compiled metric (its _direction): right for
                # the loss and every metric in specs.METRICS (tests/test_errors.py checks each).
                mode="auto",
                resume_state=saved.get("early_stopping"),
                resume_weights=best_weights.arrays if best_weights else None,
            )
        tracker = cb.BestEpoch(
            self.control,
            self.history,
            monitor,
            early,
            resumed=saved.get("tracker"),
            best_weights=best_weights,
        )
        self._tracker = tracker
        callbacks: list[keras.callbacks.Callback] = [
            cb.Pacing(self.control),
            cb.BatchReports(self.control),
        ]
        capture = None
        if self.files is not None:
            save = cb.SaveProgress(
                self.files, tracker, early, offered_epoch=self.files.written_epoch
            )
            capture = cb.CaptureLast(self.control, save)
            callbacks.append(
                capture
            )  # before EarlyStopping, which puts the best weights back at the end
        if early is not None:
            callbacks.append(early)
        callbacks.append(tracker)
        if self.files is not None and self.writer is not None:
            # The epoch's row reaches history.csv before its resume state is offered.
            callbacks += [cb.HistoryCSV(str(self.writer.history_path), append=True), save]
        return callbacks, tracker, early, capture

    def _fit(self, started: float) -> events.Finished | events.Failed:
        prep = self.prep
        data = prep.dataset
        self._open_run()
        callbacks, tracker, early, capture = self._callbacks()
        initial_epoch = len(self.history)
        self._publish(
            events.RunStarted(
                str(self.run_dir or ""),
                self.spec.summary(),
                self.spec.fit.epochs,
                self.steps_per_epoch,
                len(data.x_train),
                len(data.x_valid) if data.x_valid is not None else 0,
                initial_epoch,
                prep.cluster,
                list(data.notes),
            )
        )
        line = feeding.is_linear_unit(prep.model, data)
        seed = self.spec.data.seed + initial_epoch
        inputs, options = feeding.fit_inputs(data, prep.plan.fit_batch, seed, batches=line)
        if line:  # the SGD lesson's picture: the data, each minibatch, the line moving
            callbacks.append(cb.Minibatches(self.control, inputs[0], data.x_train, data.y_train))
            self._publish(feeding.line_points(data))
        with accel.apply(prep.plan):
            prep.model.fit(
                *inputs,
                **options,
                epochs=self.spec.fit.epochs,
                initial_epoch=initial_epoch,
                verbose=0,
                callbacks=callbacks,
            )
        return self._conclude(started, tracker, early, capture)

    def _conclude(
        self,
        started: float,
        tracker: cb.BestEpoch,
        early: cb.EarlyStopping | None,
        capture: cb.CaptureLast | None,
    ) -> events.Finished | events.Failed:
        """Say why the run ended, keep the best weights in the model and on disk, close the run."""
        control = self.control
        epochs_run = len(self.history)
        reason = "completed"
        if control.nan is not None:
            reason = "nan"
        elif control.stop_requested.is_set():
            reason = "stopped"
        elif early is not None and early.stopped_epoch > 0:
            reason = "early_stopping"
            best_value = None if early.best is None else float(early.best)
            self._publish(
                events.EarlyStopped(
                    early.stopped_epoch + 1,
                    early.best_epoch + 1,
                    early.restored,
                    early.monitor,
                    best_value,
                )
            )
        best = tracker.best_weights
        if reason in ("stopped", "nan") and best is not None:
            self.prep.model.set_weights(
                best.arrays
            )  # a stop keeps the best weights, as early stopping would
        if reason == "stopped":
            self._publish(
                events.Stopped(control.stopped_at or epochs_run, best.epoch if best else 0)
            )
        if (
            reason == "stopped"
            and epochs_run == 0
            and self.resume_dir is None
            and self.writer is not None
        ):
            return self._discard_empty_run(started)
        if self.files is not None:
            last = capture.last if capture else None
            resume = capture.resume if capture else None
            if not self.files.finish(best, last, resume, FINISH_TIMEOUT_S):
                error = self.files.error or OSError(0, "the run's files were still being written")
                return self._fail(cb.RunWriteError(error.errno, error.strerror, error.filename))
        if self.writer is not None and self.writer.error is not None:
            return self._fail(self.writer.error)
        # What the model holds now (the best weights, mostly) is what screens show from here on.
        control.latest_weights = Weights(epochs_run, self.prep.model.get_weights())
        self.result = events.Finished(
            epochs_run,
            tracker.best_epoch,
            dict(tracker.best_logs),
            str(self.run_dir or ""),
            reason,
            time.perf_counter() - started,
            words.extreme(self.history, tracker.monitor),
        )
        self.state = "finished"
        self._publish(self.result)
        return self.result

    def _discard_empty_run(self, started: float) -> events.Finished:
        """Stopped before its first epoch ended: nothing worth keeping, so no folder is left."""
        assert self.files is not None and self.writer is not None
        run_dir = self.writer.run_dir
        self.files.finish(None, None, None, FINISH_TIMEOUT_S)
        self.writer.close()
        self.writer = None
        shutil.rmtree(run_dir, ignore_errors=True)
        self.result = events.Finished(0, 0, {}, "", "stopped", time.perf_counter() - started)
        self.state = "finished"
        self._publish(self.result)
        return self.result


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("layerlab")
    except PackageNotFoundError:
        return "unknown"
