"""One idea of "a run" for every screen: a session training in this process, a folder another
process is writing, or a finished folder, all read the same way.

Imports neither keras nor tensorflow. A handle is owned by the UI thread: the events of a live
session reach it through `take` (the app's feed posts them), a folder's through `refresh`, which
reads only what was appended since the last call. Either way the history the screens show is this
one list, fed once. The weights screens may look at are immutable snapshots (`Weights`) that the
training thread hands over between epochs; nobody reads the live model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import events, runs
from . import spec as specs
from .events import Event
from .follow import EventsTail

ENDINGS = (events.Finished, events.Failed)


class RunHandle:
    """What every screen may know of a run, whatever its source.

    Attributes:
        history: One dict of logs per finished epoch, in order.
        events: Every event so far except per-batch ones, oldest first.
    """

    source = "run"

    def __init__(self, name: str, run_dir: Path | None = None, spec: specs.Spec | None = None):
        self.name = name
        self.run_dir = run_dir
        self.spec = spec
        self.history: list[dict[str, float]] = []
        self.events: list[Event] = []

    # -- what screens read --------------------------------------------------------------------

    @property
    def ending(self) -> events.Finished | events.Failed | None:
        """The run's closing event, once it has one."""
        last = self.events[-1] if self.events else None
        return last if isinstance(last, ENDINGS) else None

    @property
    def live(self) -> bool:
        """Whether the run may still change (a training session, a folder being written)."""
        return self.ending is None

    @property
    def status(self) -> str:
        """preparing | running | paused | stopping | finished reasons (completed, early_stopping,
        stopped, nan) | failed | killed."""
        ending = self.ending
        if isinstance(ending, events.Failed):
            return "failed"
        if ending is not None:
            return ending.reason
        return "running" if self.events else "preparing"

    def latest_weights(self) -> Any:
        """The newest weights snapshot (core.checkpoint.Weights) handed over, or None."""
        return None

    def want_weights(self, wanted: bool = True) -> None:
        """Ask the training to hand over its weights at each epoch's end (a screen shows them)."""

    def stop(self) -> None:
        raise RuntimeError(f"the run {self.name} is not trained by this process")

    def pause(self) -> None:
        raise RuntimeError(f"the run {self.name} is not trained by this process")

    def resume(self) -> None:
        raise RuntimeError(f"the run {self.name} is not trained by this process")

    # -- feeding ------------------------------------------------------------------------------

    def take(self, gathered: tuple[Event, ...] | list[Event]) -> list[Event]:
        """Add a batch of events (the UI thread); return those that were new."""
        taken = []
        for event in gathered:
            if isinstance(event, events.RunStarted):
                self.run_dir = Path(event.run_dir) if event.run_dir else self.run_dir
            if isinstance(event, events.EpochEnded):
                if event.epoch <= len(self.history):
                    continue  # already known (a resumed run's first events repeat nothing)
                self.history.append(event.logs)
            if not event.per_batch:
                self.events.append(event)
            taken.append(event)
        return taken


class SessionRun(RunHandle):
    """A TrainingSession in this process: its events arrive through `take`; stop and pause work.

    The handle exists from the moment training is asked for; the session, made and prepared in
    a worker thread, is `attach`ed when it exists. A stop asked before that is kept for it.
    """

    source = "session"

    def __init__(self, spec: specs.Spec, resume: Path | None = None):
        super().__init__(spec.name, resume, spec)
        self.session: Any = None
        self._stop_asked = False

    def attach(self, session: Any) -> None:
        self.session = session
        if self._stop_asked:
            session.stop()

    @property
    def status(self) -> str:
        status = super().status
        if status in ("running", "preparing") and self._stop_asked:
            return "stopping"
        if status == "running" and self.session is not None and self.session.paused:
            return "paused"
        return status

    @property
    def model_config(self) -> dict[str, Any] | None:
        """The model's description (Keras' serialised form) to build a copy from, once prepared."""
        return getattr(self.session, "model_config", None) if self.session is not None else None

    @property
    def dataset(self) -> Any:
        return self.session.dataset if self.session is not None else None

    def latest_weights(self) -> Any:
        return self.session.control.latest_weights if self.session is not None else None

    def want_weights(self, wanted: bool = True) -> None:
        if self.session is not None:
            self.session.control.want_weights = wanted

    def stop(self) -> None:
        self._stop_asked = True
        if self.session is not None:
            self.session.stop()

    def pause(self) -> None:
        if self.session is not None:
            self.session.pause()

    def resume(self) -> None:
        if self.session is not None:
            self.session.resume()

    @property
    def paused(self) -> bool:
        return self.session is not None and self.session.paused


class FolderRun(RunHandle):
    """A run folder, finished or still written by another process; `refresh` reads what grew."""

    source = "folder"

    def __init__(self, run_dir: str | os.PathLike):
        run_dir = Path(run_dir)
        try:
            spec: specs.Spec | None = specs.load(run_dir / "spec.toml")
        except specs.SpecError:
            spec = None
        super().__init__(run_dir.name, run_dir, spec)
        self.folder = run_dir
        self._tail = EventsTail(run_dir)

    @property
    def problem(self) -> str | None:
        """Why its events cannot be read, if they cannot."""
        return self._tail.problem

    @property
    def writer_pid(self) -> int | None:
        return runs.writer_pid(self.folder)

    @property
    def live(self) -> bool:
        return self.ending is None and self.writer_pid is not None

    @property
    def status(self) -> str:
        if self.ending is None and self.writer_pid is None:
            return "damaged" if self.problem else "killed"
        return super().status

    def refresh(self) -> list[Event]:
        """Read the events appended to events.jsonl since the last call; return the new ones.

        (The app reads them in a thread of its own, core.follow, and hands them to `take`.)
        """
        fresh = self._tail.read()
        if self._tail.restarted:
            self.start_over()
        return self.take(fresh)

    def start_over(self) -> None:
        """Forget what was read: the events file was written anew (a resumed run keeps its first
        epochs and writes the rest again). The lists stay the same objects, emptied."""
        self.history.clear()
        self.events.clear()
