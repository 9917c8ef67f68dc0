"""The Inspect screen's Feature maps view: one input through the model, every layer's maps, the prediction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from layerlab.core.errors import log_failure
from layerlab.screens.inspect_sample import (
    SampleInput,
    Source,
    input_panel,
    sample_picture,
    samples,
)
from layerlab.screens.inspect_text import prediction_text
from layerlab.tui.latest import Latest
from layerlab.tui.widgets.heatmap import Heatmap
from layerlab.tui.widgets.inspect_grid import ChannelGrid
from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Input, Label, Select, Static
from textual.worker import get_current_worker


class FeatureMapsView(Vertical):
    """Feature maps after every Conv2D, activation and pooling layer for one input, computed in a worker."""

    @dataclass
    class Computed(Message):
        """A worker ran one input through the model (or failed to, with the reason)."""

        view: FeatureMapsView
        token: int
        """The request it answers (tui.latest): only the newest one is shown."""
        maps: list[Any] = field(default_factory=list)
        prediction: str = ""
        picture: np.ndarray | None = None
        caption: str = ""
        error: str = ""

        @property
        def control(self) -> FeatureMapsView:
            """The view that asked."""
            return self.view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = Source()
        self.maps: list[Any] = []
        """FeatureMapViews as last computed."""
        self.prediction = ""
        """The last prediction, as shown."""
        self.label = ""
        """Where the model comes from, in words."""
        self._model: Any = None
        self._dataset: Any = None
        self._latest = Latest()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="inspect-bar"):
            yield Label("sample ")
            yield SampleInput("0", restrict=r"\d*", compact=True, id="maps-sample")
            yield Static(id="maps-count", classes="inspect-count")
            yield Label(" file ")
            yield Input(placeholder="an image file, enter", compact=True, id="maps-file")
        yield Static(id="maps-error", classes="inspect-error")
        with ContentSwitcher(initial="maps-empty", id="maps-switcher"):
            yield Static(id="maps-empty", classes="inspect-empty")
            with Horizontal(id="maps-main"):
                with Vertical(id="maps-side"):
                    yield input_panel("maps-input")
                    yield Static(id="maps-prediction")
                with Vertical(id="maps-right"):
                    with Horizontal(classes="inspect-bar"):
                        yield Select([], prompt="layer", compact=True, id="maps-layer")
                        yield Static(id="maps-page", classes="inspect-page")
                    yield Static(id="maps-none", classes="inspect-empty")
                    yield ChannelGrid(label="map", cell=(13, 7), id="maps-grid")

    def on_mount(self) -> None:
        self.watch(self.grid, "caption", self._show_page)

    @property
    def grid(self) -> ChannelGrid:
        return self.query_one("#maps-grid", ChannelGrid)

    def show_empty(self, text: str) -> None:
        """No model: say why and what to do."""
        self._latest.forget()
        self._model = None
        self.query_one("#maps-empty", Static).update(text)
        self.query_one("#maps-switcher", ContentSwitcher).current = "maps-empty"

    def load(self, model: Any, dataset: Any, label: str) -> None:
        """Run the chosen input through this model in a worker; the newest request wins.

        Args:
            model: A built Keras model.
            dataset: The core.data Dataset whose samples it takes, or None.
            label: Where the model comes from, in words.
        """
        self._model, self._dataset = model, dataset
        xs, _, _ = samples(self._dataset)
        count = 0 if xs is None else len(xs)
        self.label = label
        self.query_one("#maps-count", Static).update(f" of {count} (+/-)" if count else " no data")
        if count:
            self.source.sample = min(self.source.sample, count - 1)
        self.compute()

    def compute(self) -> None:
        """Run the current source through the current model."""
        if self._model is None:
            return
        source = Source(self.source.sample, self.source.path)
        self._run(self._model, self._dataset, source, self._latest.next())

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="inspect-maps",
        description="computing feature maps",
    )
    def _run(self, model: Any, dataset: Any, source: Source, token: int) -> None:
        from layerlab.core.inspect import InspectError, feature_maps, load_picture, predict

        xs, ys, raw = samples(dataset)
        try:
            if source.path:
                height, width, channels = (tuple(dataset.input_shape) + (1, 1, 1))[:3]
                picture = load_picture(source.path, (height, width))
                x = np.repeat(picture[..., None], channels, axis=-1) if channels > 1 else picture
                label, caption = None, source.path.rsplit("/", 1)[-1]
            elif xs is None or not len(xs):
                raise InspectError("there is no data set loaded to take a sample from")
            else:
                x, label, caption = xs[source.sample], ys[source.sample], f"sample {source.sample}"
                picture = sample_picture(raw[source.sample] if raw is not None else x, dataset)
            maps = feature_maps(model, x)
            prediction = prediction_text(predict(model, x), dataset, label)
        except Exception as error:  # shown as words, never as a traceback
            log_failure("computing the feature maps", error)
            self.post_message(self.Computed(self, token, error=str(error)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Computed(self, token, maps, prediction, picture, caption))

    @on(Computed)
    def _computed(self, message: Computed) -> None:
        message.stop()
        if not self._latest.is_current(message.token):
            return
        error = self.query_one("#maps-error", Static)
        error.update(message.error)
        error.set_class(bool(message.error), "-shown")
        if message.error:
            return  # the last good maps stay on screen
        self.query_one("#maps-switcher", ContentSwitcher).current = "maps-main"
        shown = self.current.name if self.current is not None else None
        names = [view.name for view in self.maps]
        self.maps, self.prediction = message.maps, message.prediction
        self.query_one("#maps-prediction", Static).update(
            f"[dim]{escape(self.label)}[/dim]\n{message.prediction}"
        )
        panel = self.query_one("#maps-input")
        panel.display = message.picture is not None
        if message.picture is not None:
            panel.title = message.caption
            if isinstance(panel, Heatmap):
                picture = message.picture
                panel.data = picture.mean(axis=-1) if picture.ndim == 3 else picture
            else:
                panel.image = message.picture
        select = self.query_one("#maps-layer", Select)
        if [view.name for view in self.maps] != names:
            labels = [f"{v.name} · {v.type} {'×'.join(map(str, v.maps.shape))}" for v in self.maps]
            with self.prevent(Select.Changed):
                select.set_options([(label, n) for n, label in enumerate(labels)])
                new = [view.name for view in self.maps]
                if self.maps:
                    select.value = new.index(shown) if shown in new else 0
        none = self.query_one("#maps-none", Static)
        none.display = not self.maps
        self.query_one("#maps-right .inspect-bar").display = bool(self.maps)
        none.update("This model has no Conv2D, activation or pooling layer with feature maps.")
        self._show()

    @property
    def current(self) -> Any:
        """The FeatureMapView shown, or None."""
        value = self.query_one("#maps-layer", Select).value
        return self.maps[value] if isinstance(value, int) and value < len(self.maps) else None

    @on(Select.Changed, "#maps-layer")
    def _layer_chosen(self, event: Select.Changed) -> None:
        event.stop()
        self._show()

    def step_layer(self, step: int) -> None:
        """Show the next (1) or previous (-1) layer's maps."""
        if self.maps:
            select = self.query_one("#maps-layer", Select)
            value = select.value if isinstance(select.value, int) else 0
            select.value = (value + step) % len(self.maps)

    def _show(self) -> None:
        view = self.current
        self.grid.display = view is not None
        if view is not None:
            self.grid.stack = view.maps
        self._show_page()

    def _show_page(self) -> None:
        text = self.grid.caption if self.current is not None else ""
        self.query_one("#maps-page", Static).update(text)

    def step_sample(self, step: int) -> None:
        """Take the next (1) or previous (-1) sample, wrapping around."""
        xs, _, _ = samples(self._dataset)
        if xs is None or not len(xs):
            return
        self.source = Source((self.source.sample + step) % len(xs))
        sample = self.query_one("#maps-sample", Input)
        with self.prevent(Input.Changed):
            sample.value = str(self.source.sample)
        self.compute()

    @on(SampleInput.Stepped)
    def _stepped(self, event: SampleInput.Stepped) -> None:
        event.stop()
        self.step_sample(event.step)

    @on(Input.Changed, "#maps-sample")
    def _sample_typed(self, event: Input.Changed) -> None:
        event.stop()
        xs, _, _ = samples(self._dataset)
        if not event.value or xs is None:
            return
        number = int(event.value)
        if number >= len(xs):
            self._say(f"sample {number} does not exist: there are {len(xs)} (0–{len(xs) - 1})")
            return
        self.source = Source(number)
        self.compute()

    @on(Input.Submitted, "#maps-file")
    def _file_given(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            self._say("type the path of an image file, then enter")
            return
        self.source = Source(self.source.sample, path)
        self.compute()

    def _say(self, text: str) -> None:
        error = self.query_one("#maps-error", Static)
        error.update(text)
        error.set_class(True, "-shown")
