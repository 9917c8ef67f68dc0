"""The Train screen: live learning curves, progress, early stopping and every event as it happens.

A TrainingSession (core.session) runs in a thread worker. Its subscriber (train_feed.Feed) runs in
the training threads and only posts small messages to this screen, the events gathered a few times
a second (the latest batch only); everything on screen is updated here, on the UI thread, and
repainted a few times a second however fast epochs come.

A run folder that another process writes (`layerlab watch`, enter on the Runs screen) is shown the
same way: a follower (tui.following, core.follow) posts what its events file gained as it grows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from layerlab.core import events
from layerlab.core.errors import log_failure
from layerlab.core.follow import RunNews, follow_run
from layerlab.core.handle import FolderRun, RunHandle, SessionRun
from layerlab.tui.following import Following
from layerlab.tui.latest import Latest
from layerlab.tui.lifeline import Lifeline
from layerlab.tui.messages import FollowRequested, TrainRequested
from layerlab.tui.screen import ShellScreen
from layerlab.tui.widgets.curves import REDRAWS_PER_SECOND
from layerlab.tui.widgets.sgd_view import SgdView
from layerlab.tui.widgets.train_curves import TrainCurves
from layerlab.tui.widgets.train_diagnosis import TrainDiagnosis
from layerlab.tui.widgets.train_feed import Feed, error_words, freeze_long_lived
from layerlab.tui.widgets.train_log import TrainLog
from layerlab.tui.widgets.train_progress import TrainProgress
from layerlab.tui.widgets.train_summary import TrainSummary
from layerlab.tui.workspace import Change
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.worker import get_current_worker

TICKS_PER_SECOND = REDRAWS_PER_SECOND
"""How often the screen looks for news to show: at most this many frames a second."""
UI_SHARE = 0.03
"""While training, news is shown only once the UI thread has used less than this share of a core
since it last showed some. A frame of this screen costs it about 10 ms and training shares both the
cores and the GIL with it: so the app slows a fit by a few percent at most (DESIGN.md's budget is
5%), whatever the terminal's size or the epochs' pace..."""
MAX_WAIT = 1.0
"""...but never waits longer than this (seconds)."""
LOG_INTERVAL = 1.0
"""Epoch lines reach the log at most this often (each write lays the screen out again); the other
events' lines (TrainLog.urgent) at the next tick."""


class TrainScreen(ShellScreen):
    """Train the current spec and watch it learn; stop, pause and restart with the keyboard."""

    MODE = "train"
    TITLE = "Train"
    BINDINGS = [
        Binding(
            "b",
            "toggle_batches",
            "Batches",
            show=False,
            tooltip="Batches or epochs: in the curves' place, a linear unit's data, minibatch and "
            "line (the SGD lesson's picture), else the loss of each batch; again for the curves",
        ),
        Binding("space", "pause", "Pause", tooltip="Pause before the next batch, or resume"),
        Binding("s", "stop", "Stop", tooltip="Stop after this batch; the best weights are kept"),
        Binding("r", "restart", "Retrain", tooltip="Train the current spec again (as t does)"),
    ]

    @dataclass
    class EventsReceived(Message):
        """Core events from the training threads, oldest first, gathered (tui.widgets.train_feed)."""

        gathered: tuple[events.Event, ...]
        run: int
        """Which run of this screen they belong to (events of an older run are ignored)."""

    @dataclass
    class SessionCreated(Message):
        """The worker made the run's TrainingSession (it prepares next)."""

        session: Any
        run: int

    @dataclass
    class PrepareFailed(Message):
        """The data, model or accelerator could not be prepared: nothing was trained."""

        error: str
        run: int

    @dataclass
    class SessionClosed(Message):
        """The training worker is done, whatever happened."""

        run: int

    @dataclass
    class FolderChanged(Message):
        """What the followed run folder gained (from the follower's thread)."""

        news: RunNews
        run: int

    @dataclass
    class FollowFailed(Message):
        """The followed run folder cannot be followed any more, in words."""

        error: str
        run: int

    def __init__(self) -> None:
        super().__init__()
        self._runs = Latest()
        """Tokens for this screen's runs: messages of an older run are ignored."""
        self._dirty = False
        self._shown_at = self._shown_cpu = self._logged_at = 0.0
        self._follower = Following(self, "following")
        """Follows the app's run when it is a folder another process writes."""
        self._writer: int | None = None
        self._model: tuple[int, int] | None = None
        """The followed run's writer and model.keras stamp, as last heard (core.follow.RunNews)."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="train-main"):
            yield TrainCurves(id="train-curves")
            yield SgdView(id="train-sgd")
            with VerticalScroll(id="train-side"):  # the summary can outgrow a small terminal
                yield TrainProgress(id="train-progress")
                yield TrainSummary(id="train-summary")
        yield TrainDiagnosis(id="train-diagnosis")
        yield TrainLog(id="train-log")

    @property
    def curves(self) -> TrainCurves:
        return self.query_one(TrainCurves)

    @property
    def log_view(self) -> TrainLog:
        return self.query_one(TrainLog)

    @property
    def progress(self) -> TrainProgress:
        return self.query_one(TrainProgress)

    @property
    def run(self) -> SessionRun | None:
        """The app's run, when it is a training session this screen started."""
        run = self.app.current_run
        return run if isinstance(run, SessionRun) else None

    @property
    def active(self) -> bool:
        """Whether a run is being prepared or trained (derived from the run handle)."""
        return self.app.training

    def on_mount(self) -> None:
        self.set_interval(1 / TICKS_PER_SECOND, self._flush, name="train-screen-flush")
        self.log_view.say(
            f"Press t to train {self.workspace.spec.name!r}; space pauses, s stops and keeps the "
            "best weights. Curves: m next metric, l log scale, z zoom.",
            "dim",
        )
        self.curves.focus()

    def on_unmount(self) -> None:
        """Leaving the app (or the screen) ends training: the best weights so far are kept.

        Unless the terminal went away (tui.lifeline): then training goes on, detached.
        """
        self._follower.stop()
        if self.app.lifeline.detached:
            return
        if self.run is not None and self.run.live:
            self.run.stop()
        self.workers.cancel_group(self, "training")

    # -- starting ------------------------------------------------------------------------

    @on(TrainRequested)
    def _requested(self, message: TrainRequested) -> None:
        message.stop()
        if self.active:
            self.notify("Already training: s stops it, then t trains again.")
            return
        spec = message.spec
        workspace = self.workspace
        dataset = workspace.dataset
        same_data = (
            spec.data == workspace.spec.data and spec.data_path() == workspace.spec.data_path()
        )
        self._follower.stop()
        token = self._runs.next()
        run = SessionRun(spec, message.resume)
        self._show_new(run, "preparing")
        self.log_view.say(
            f"preparing {spec.name!r}: data {spec.data.source()}, model, device…", "dim"
        )
        self._dirty = True
        self._flush(force=True)
        if message.resume is not None:
            self.log_view.say(f"resuming the run in {message.resume}", "dim")
        self._train(spec, dataset if same_data else None, token, self.app.lifeline, message.resume)

    def _show_new(self, run: RunHandle, state: str) -> None:
        """Make `run` the app's run and show it from its start: every panel emptied."""
        if self.app.current_run is not run:
            self.app.current_run = run
            self.workspace.changed.publish(Change("run"))
        early = run.spec.fit.early_stopping if run.spec is not None else None
        self.query_one(TrainDiagnosis).begin(early.patience if early else None, run.history)
        self.set_class(False, "-done")
        self.progress.tracker.begin(state, run.history)
        self.curves.clear()

    @on(FollowRequested)
    def _follow_requested(self, message: FollowRequested) -> None:
        message.stop()
        if self.active:
            self.notify("Training is running here: s stops it first.", severity="warning")
            return
        folder = Path(message.run_dir)
        token = self._runs.next()
        self._writer = self._model = None
        self._show_new(FolderRun(folder), "following")
        self.log_view.say(f"following the run in {folder}", "dim")
        self._dirty = True
        self._flush(force=True)
        self._follower.start(
            partial(follow_run, folder),
            f"following the run {folder.name}",
            partial(self.FolderChanged, run=token),
            partial(self.FollowFailed, run=token),
        )

    @on(FolderChanged)
    def _folder_changed(self, message: FolderChanged) -> None:
        run, news = self.app.current_run, message.news
        if not self._runs.is_current(message.run) or not isinstance(run, FolderRun):
            return
        if news.restarted:  # written anew by a resume: shown again from its start
            run.start_over()
            self._show_new(run, "running")
            self.log_view.say("the run was resumed: shown again from its start", "dim")
        first = not run.events
        for event in run.take(news.events):
            self._take(event)
        gone = news.writer is None and run.ending is None
        if gone and (first or self._writer is not None):
            self._show_killed(run)
        elif news.writer is not None and (first or self._writer is None):
            self.set_class(False, "-done")
            self.log_view.say(
                f"written by process {news.writer}: each epoch shows as it ends "
                "(q leaves this screen; the run goes on)",
                "dim",
            )
        if news.model != self._model and not first:
            self.workspace.changed.publish(Change("epoch"))  # Inspect loads model.keras again
        self._writer, self._model = news.writer, news.model
        self._dirty = True
        self._flush(force=True)  # no training here to leave the cores to; news come ≤ 5 a second

    def _show_killed(self, run: FolderRun) -> None:
        """Nobody writes the run any more and it has no ending: its writer died (kill -9, a crash)."""
        self.progress.tracker.set_state("killed")
        self.query_one(TrainSummary).show_killed(str(run.folder), len(run.history))
        self.set_class(True, "-done")
        self.log_view.say(
            f"✗ killed: the process writing this run is gone without ending it; "
            f"{len(run.history)} epochs kept (layerlab train --resume {run.folder} continues it)",
            "bold red",
        )

    @on(FollowFailed)
    def _follow_failed(self, message: FollowFailed) -> None:
        if self._runs.is_current(message.run):
            self.log_view.say(f"✗ {message.error}", "bold red")
            self.notify(message.error, title="Cannot follow the run", severity="error")

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="training", description="training"
    )
    def _train(
        self, spec: Any, dataset: Any, run: int, lifeline: Lifeline, resume: Any = None
    ) -> None:
        """Prepare and train in this thread; report only through messages.

        The lifeline stops the session on SIGTERM or SIGINT, and keeps it going when the terminal
        goes away (the app's exit then cancels this worker, but the run is what the user wants).
        """
        session = None
        try:
            try:
                from layerlab.core.session import TrainingSession

                freeze_long_lived()
                if resume is not None:
                    session = TrainingSession.from_run(resume, dataset=dataset)
                else:
                    session = TrainingSession(spec, dataset=dataset, runs_dir=None)
                session.subscribe(
                    Feed(self.post_message, lambda gathered: self.EventsReceived(gathered, run))
                )
                lifeline.follow(session)
                self.post_message(self.SessionCreated(session, run))
                session.prepare()
            except Exception as exc:  # bad input, said in words: never a traceback
                log_failure("preparing the training", exc)
                self.post_message(self.PrepareFailed(error_words(exc), run))
                return
            if not get_current_worker().is_cancelled or lifeline.detached:
                session.run()  # every failure in here becomes a Failed event
        finally:
            if session is not None:
                lifeline.forget(session)
            self.post_message(self.SessionClosed(run))

    # -- what comes back from the training thread ----------------------------------------

    @on(SessionCreated)
    def _created(self, message: SessionCreated) -> None:
        if not self._runs.is_current(message.run) or self.run is None:
            message.session.stop()
            return
        self.run.attach(message.session)

    @on(PrepareFailed)
    def _prepare_failed(self, message: PrepareFailed) -> None:
        if not self._runs.is_current(message.run):
            return
        if self.run is not None:
            self.run.take([events.Failed(f"cannot train: {message.error}")])
        self.log_view.say(f"✗ cannot train: {message.error}", "bold red")
        self.progress.tracker.set_state("failed")
        self.query_one(TrainSummary).show_failed(f"Cannot train: {message.error}")
        self.set_class(True, "-done")
        self.notify(message.error, title="Cannot train", severity="error", timeout=20)
        self._dirty = True

    @on(SessionClosed)
    def _closed(self, message: SessionClosed) -> None:
        if not self._runs.is_current(message.run):
            return
        if self.run is not None and self.run.ending is None:  # cancelled before it could end
            self.run.take([events.Failed("the run was cancelled before it ended")])
        self._dirty = True
        self._flush(force=True)

    @on(EventsReceived)
    def _received(self, message: EventsReceived) -> None:
        if not self._runs.is_current(message.run) or self.run is None:
            return
        for event in self.run.take(message.gathered):
            self._take(event)

    def action_toggle_batches(self) -> None:
        self._show_batches(not self.query_one(SgdView).display)

    def _show_batches(self, shown: bool) -> None:
        """The batches panel or the learning curves, in the same place."""
        self.query_one(SgdView).display = shown
        self.curves.display = not shown

    def _take(self, event: events.Event) -> None:
        if (
            isinstance(event, events.BatchEnded)
            and event.epoch <= self.progress.tracker.epochs_done
        ):
            return  # Keras reports batches from a thread of its own: this one came late
        self.curves.feed(event)
        self.progress.tracker.feed(event)
        self.log_view.feed(event)
        self.query_one(TrainDiagnosis).feed(event)
        self.query_one(SgdView).feed(event)
        self._dirty = True
        match event:
            case events.LinePoints():  # a linear unit: the lesson's picture shows by itself
                self._show_batches(True)
                self.log_view.say("b: the learning curves (and back to the SGD picture)")
            case events.RunStarted():
                self.workspace.changed.publish(Change("run"))  # the model exists: Inspect looks
            case events.Finished():
                self.query_one(TrainSummary).show_finished(event)
                self.set_class(True, "-done")
                self._flush(force=True)
            case events.Failed(error=error, run_dir=run_dir):
                self.query_one(TrainSummary).show_failed(f"Training failed: {error}", run_dir)
                self.set_class(True, "-done")
                self.notify(error, title="Training failed", severity="error", timeout=20)

    def _flush(self, force: bool = False) -> None:
        """The timer's tick: show what arrived since the last show, within the CPU budget."""
        now, cpu = time.monotonic(), time.thread_time()
        elapsed = now - self._shown_at
        budget_left = cpu - self._shown_cpu <= UI_SHARE * elapsed or elapsed >= MAX_WAIT
        if not (force or self.log_view.urgent or budget_left):
            return
        self._shown_at, self._shown_cpu = now, cpu
        self.curves.repaint()  # in this frame, with everything else
        if force or self.log_view.urgent or now - self._logged_at >= LOG_INTERVAL:
            self._logged_at = now
            self.log_view.flush()
        if not self._dirty:
            return
        self._dirty = False
        self.progress.flush()
        if self.query_one(TrainDiagnosis).flush():  # epochs ended: Inspect reads the weights again
            self.workspace.changed.publish(Change("epoch"))

    # -- keys ----------------------------------------------------------------------------

    def _not_here(self) -> bool:
        """Say so when nothing trains in this process (another may write the run shown)."""
        if self.run is not None and self.active:
            return False  # a session of this process: the keys work
        run = self.app.current_run
        if isinstance(run, FolderRun) and run.live:
            self.notify(
                f"Process {run.writer_pid} trains this run: stop it there "
                f"(kill -INT {run.writer_pid} keeps the best weights).",
                severity="warning",
            )
        else:
            self.notify("Nothing is training: t starts.")
        return True

    def action_pause(self) -> None:
        """Pause before the next batch, or resume."""
        run, tracker = self.run, self.progress.tracker
        if self._not_here() or run is None:
            return
        if run.status not in ("running", "paused"):
            self.notify("Still preparing: space pauses once training has started.")
            return
        if run.paused:
            run.resume()
            tracker.set_state("running")
        else:
            run.pause()
            tracker.set_state("pausing")
        self._dirty = True

    def action_stop(self) -> None:
        """Stop after the batch in progress; the model keeps its best weights."""
        if self._not_here() or self.run is None:
            return
        self.run.stop()
        self.progress.tracker.set_state("stopping")
        self._dirty = True
        self._flush(force=True)

    async def action_restart(self) -> None:
        """Train the current spec again (what `t` does)."""
        await self.app.run_action("train")
