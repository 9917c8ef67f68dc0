"""The Inspect screen: the model's kernels and weights, its feature maps for one input, the convolution playground.

The model is the app's run's (``app.current_run``, core.handle): for a training session, this screen's own
copy of it (built from the session's description of it + the weights the training thread handed over at an
epoch's end), never the live model; for a run folder, its ``model.keras`` (loaded again when it is
saved again, while another process writes the run); or, on request, the newest run's saved model.
The kernels and maps follow the training epoch by epoch, at most every REFRESH_S seconds;
everything that touches Keras runs in thread workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from layerlab.core.errors import log_failure
from layerlab.core.follow import file_stamp
from layerlab.core.handle import FolderRun, SessionRun
from layerlab.screens.inspect_kernels import KernelsView
from layerlab.screens.inspect_maps import FeatureMapsView
from layerlab.screens.inspect_playground import PlaygroundView
from layerlab.tui.screen import ShellScreen
from layerlab.tui.widgets.inspect_grid import ChannelGrid
from layerlab.tui.workspace import Change
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TabbedContent, TabPane, Tabs

REFRESH_S = 0.5
"""The shortest time between two reads of a training model, so a fast training does not flood."""
MODEL_VIEWS = ("kernels", "maps")
NO_MODEL = (
    "No model to inspect yet — train a model first (t).\n\n"
    "Or press m to open the newest run's saved model (model.keras).\n"
    "The playground (p) needs no model."
)


@dataclass
class ModelSource:
    """The model the views show, the data its inputs come from, and where it came from, in words."""

    model: Any
    dataset: Any
    label: str


class InspectScreen(ShellScreen):
    """Look inside the model: kernels and weights, feature maps, and the convolution playground."""

    MODE = "inspect"
    TITLE = "Inspect"
    BINDINGS = [
        Binding("k", "view('kernels')", "Kernels"),
        Binding("f", "view('maps')", "Feature maps"),
        Binding("p", "view('playground')", "Playground"),
        Binding("left_square_bracket", "page(-1)", "Previous page"),
        Binding("right_square_bracket", "page(1)", "Next page"),
        Binding("less_than_sign", "layer(-1)", "Previous layer", show=False),
        Binding("greater_than_sign", "layer(1)", "Next layer", show=False),
        Binding("minus", "sample(-1)", "Previous sample"),
        Binding("plus", "sample(1)", "Next sample"),
        Binding("c", "channel", "Next input channel", show=False),
        Binding("m", "open_run", "Open the newest run's model", show=False),
        Binding("escape", "leave", "Leave the field", show=False),
    ]

    @dataclass
    class CopyMade(Message):
        """A copy of the run's model with the weights of one epoch, or its model.keras loaded
        (made in a worker)."""

        run: Any
        model: Any
        version: Any
        """The epoch of a session's weights; the stamp of a run folder's model.keras."""
        label: str = ""
        error: str = ""

    @dataclass
    class RunModelLoaded(Message):
        """The newest run's model.keras was loaded (or could not be, with the reason)."""

        model: Any
        name: str
        error: str = ""

    def __init__(self) -> None:
        super().__init__()
        self._run_model: tuple[Any, str] | None = None
        self._copy: tuple[Any, Any, Any, str] | None = None
        """(run, model, version, label): this screen's copy of the run's model and whose weights it
        holds (an epoch, or model.keras's stamp), and where it came from, in words."""
        self._unreadable: tuple[Any, Any] | None = None
        """(run, stamp) of a model.keras that failed to load: not tried again until it changes."""
        self._stale = set(MODEL_VIEWS)
        self._last_read = 0.0
        self._timer: Any = None
        self._auto_tab: str | None = None
        """The tab chosen for the user (the playground while there is no model), until they choose."""

    def compose_body(self) -> ComposeResult:
        run = self.app.current_run
        saved = isinstance(run, FolderRun) and file_stamp(run.folder / "model.keras") is not None
        self._auto_tab = "kernels" if self.source() is not None or saved else "playground"
        with TabbedContent(initial=self._auto_tab, id="inspect-tabs"):
            with TabPane("k Kernels", id="kernels"):
                yield KernelsView(id="kernels-view")
            with TabPane("f Feature maps", id="maps"):
                yield FeatureMapsView(id="maps-view")
            with TabPane("p Playground", id="playground"):
                yield PlaygroundView(id="playground-view")

    def on_mount(self) -> None:
        self.workspace.changed.subscribe(self, self._changed)
        self._load_active()
        self.query_one(Tabs).focus()

    @property
    def active(self) -> str:
        """The view shown: kernels, maps or playground."""
        return self.query_one(TabbedContent).active

    def source(self) -> ModelSource | None:
        """This screen's copy of the run's model if there is one, else a run's model opened with m."""
        run = self.app.current_run
        dataset = self.workspace.dataset
        if self._copy is not None and self._copy[0] is run:
            _, model, _, label = self._copy
            return ModelSource(model, getattr(run, "dataset", None) or dataset, label)
        if self._run_model is not None:
            model, name = self._run_model
            return ModelSource(model, dataset, f"run {name}")
        return None

    # -- keeping up with the training ----------------------------------------------------------

    def _changed(self, change: Change) -> None:
        if change.kind == "run":
            self._want_weights()
        if change.kind == "run" or (change.kind == "data" and self._run_model is not None):
            self._stale.update(MODEL_VIEWS)
            if self._auto_tab == "playground" and self.active == "playground":
                self.query_one(TabbedContent).active = self._auto_tab = "kernels"
            self._load_active()
        elif change.kind == "epoch":
            self._stale.update(MODEL_VIEWS)
            self._refresh_soon()

    def _refresh_soon(self) -> None:
        """Read the model again, but not more often than every REFRESH_S seconds."""
        if self._timer is not None or not self.is_current:
            return
        wait = self._last_read + REFRESH_S - time.monotonic()
        if wait > 0:
            self._timer = self.set_timer(wait, self._timer_fired)
        else:
            self._load_active()

    def _timer_fired(self) -> None:
        self._timer = None
        self._load_active()

    def on_screen_resume(self) -> None:
        # The weights may have changed while away (best weights restored at the end of a run).
        self._want_weights()
        self._stale.update(MODEL_VIEWS)
        self._load_active()

    def on_screen_suspend(self) -> None:
        if self.app.current_run is not None:
            self.app.current_run.want_weights(False)  # nobody looks: the training keeps its pace

    def _want_weights(self) -> None:
        if self.app.current_run is not None and self.is_current:
            self.app.current_run.want_weights(True)

    def _copy_is_current(self) -> bool:
        """Whether this screen's copy holds the newest weights the run handed over."""
        run = self.app.current_run
        if isinstance(run, FolderRun):
            stamp = file_stamp(run.folder / "model.keras")
            return (
                stamp is None
                or self._unreadable == (run, stamp)
                or (self._copy is not None and self._copy[0] is run and self._copy[2] == stamp)
            )
        if run is None or not hasattr(run, "model_config"):
            return True
        weights = run.latest_weights()
        return weights is None or (
            self._copy is not None and self._copy[0] is run and self._copy[2] == weights.epoch
        )

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="inspect-copy",
        description="copying the model",
    )
    def _make_copy(self, run: Any) -> None:
        """A model of the run's own: its architecture and the latest weights handed over; for a
        run folder, its model.keras as saved now (Keras' safe mode)."""
        if isinstance(run, FolderRun):
            self._load_saved(run)
            return
        weights = run.latest_weights()
        config = run.model_config
        if weights is None or config is None:
            return
        try:
            import keras

            # Built from the description the session took, never from the live model.
            model = keras.saving.deserialize_keras_object(
                {k: v for k, v in config.items() if k != "compile_config"}
            )
            model.set_weights(weights.arrays)
        except Exception as exc:  # shown as words, never as a traceback
            log_failure("copying the model to inspect it", exc)
            self.post_message(
                self.CopyMade(run, None, 0, error=f"the model could not be copied: {exc}")
            )
            return
        self.post_message(
            self.CopyMade(run, model, weights.epoch, f"training session, epoch {weights.epoch}")
        )

    def _load_saved(self, run: FolderRun) -> None:
        """In the copy worker's thread: the run folder's model.keras, with Keras' safe mode."""
        path = run.folder / "model.keras"
        stamp = file_stamp(path)
        try:
            import keras

            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # shown as words, never as a traceback
            log_failure(f"loading {path} to inspect it", exc)
            self.post_message(
                self.CopyMade(run, None, stamp, error=f"{path} could not be loaded: {exc}")
            )
            return
        saved = time.strftime("%H:%M:%S", time.localtime(stamp[0] / 1e9)) if stamp else "?"
        self.post_message(
            self.CopyMade(run, model, stamp, f"run {run.name}, model.keras of {saved}")
        )

    @on(CopyMade)
    def _copy_made(self, message: CopyMade) -> None:
        if message.run is not self.app.current_run:
            return  # a newer run replaced it
        if message.error:
            self._unreadable = (message.run, message.version)
            self.notify(message.error, severity="error", timeout=10)
            return
        self._copy = (message.run, message.model, message.version, message.label)
        self._stale.update(MODEL_VIEWS)
        self._load_active()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id != self._auto_tab:
            self._auto_tab = None
        self._load_active()
        self.refresh_bindings()

    def _load_active(self) -> None:
        """Bring the view shown up to date with the model, if it is out of date."""
        name = self.active
        if name not in self._stale or not self.is_mounted:
            return
        if not self._copy_is_current():
            self._make_copy(self.app.current_run)  # the views load once the copy is made
            return
        self._stale.discard(name)
        self._last_read = time.monotonic()
        view = self.query_one(f"#{name}-view")
        source = self.source()
        run = self.app.current_run
        if source is None:
            if isinstance(run, FolderRun) and (run.live or run.history):
                view.show_empty(
                    f"The run {run.name} has no model.keras yet: it is written at the end of "
                    "its first epochs…"
                )
            elif isinstance(run, SessionRun) and run.live:
                view.show_empty(
                    "Training is starting: the model shows at the end of its next epoch…"
                )
            else:
                view.show_empty(NO_MODEL)
        else:
            view.load(source.model, source.dataset, source.label)

    # -- keys ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging and layers in the model views; samples in Feature maps; channels in Kernels."""
        if action in ("page", "layer"):
            return self.active in MODEL_VIEWS
        if action == "sample":
            return self.active == "maps"
        if action == "channel":
            return self.active == "kernels"
        return True

    def action_view(self, name: str) -> None:
        """Show one of the three views and put the keyboard in it."""
        self.query_one(TabbedContent).active = name
        target = {"kernels": "#kernels-grid", "maps": "#maps-grid", "playground": "#play-picture"}
        self.query_one(target[name]).focus()

    def _model_view(self) -> Any:
        return self.query_one(f"#{self.active}-view")

    def action_page(self, pages: int) -> None:
        """Turn the page of kernels or feature maps."""
        self._model_view().query_one(ChannelGrid).action_page(pages)

    def action_layer(self, step: int) -> None:
        """Show the next or previous layer."""
        self._model_view().step_layer(step)

    def action_sample(self, step: int) -> None:
        """Run the next or previous sample through the model."""
        self.query_one(FeatureMapsView).step_sample(step)

    def action_channel(self) -> None:
        """Show the kernels for the next input channel."""
        self.query_one(KernelsView).step_channel()

    def action_leave(self) -> None:
        """Leave a text box or grid for the tabs, where the number keys switch screens again."""
        self.query_one(Tabs).focus()

    def action_open_run(self) -> None:
        """Open the newest run's model.keras (with Keras' safe mode) to inspect it."""
        self.notify("Opening the newest run's model…")
        self._load_run_model()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="inspect-run",
        description="opening the newest run's model",
    )
    def _load_run_model(self) -> None:
        from layerlab.core.runs import list_runs, runs_root

        try:
            for record in list_runs():
                path = record.path / "model.keras"
                if path.is_file():
                    import keras

                    model = keras.models.load_model(path, safe_mode=True, compile=False)
                    self.post_message(self.RunModelLoaded(model, record.path.name))
                    return
            error = f"no run under {runs_root()} has a model.keras yet — train a model first (t)"
        except Exception as exc:  # shown as words, never as a traceback
            log_failure("opening the newest run's model", exc)
            error = f"the model could not be opened: {exc}"
        self.post_message(self.RunModelLoaded(None, "", error))

    @on(RunModelLoaded)
    def _run_model_loaded(self, message: RunModelLoaded) -> None:
        if message.error:
            self.notify(message.error, severity="error", timeout=10)
            return
        self._run_model = (message.model, message.name)
        self.notify(f"Inspecting run {message.name}")
        self._stale.update(MODEL_VIEWS)
        if self.active == "playground":
            self.query_one(TabbedContent).active = self._auto_tab = "kernels"
        self._load_active()
