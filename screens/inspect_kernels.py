"""The Inspect screen's Kernels view: every Conv2D's kernels filter by filter, every Dense layer's weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from layerlab.core.errors import log_failure
from layerlab.screens.inspect_text import dense_label, kernel_label, unit_text, value_range_text
from layerlab.tui.latest import Latest
from layerlab.tui.widgets.heatmap import Heatmap
from layerlab.tui.widgets.inspect_grid import ChannelGrid
from layerlab.tui.widgets.kernel_grid import KernelGrid
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import ContentSwitcher, Select, Static
from textual.worker import get_current_worker

MAX_NUMBERS = 5
"""Kernels up to this many rows and columns also show their numbers."""


class KernelsView(Vertical):
    """The current model's Conv2D kernels and Dense weights, read in a thread worker."""

    @dataclass
    class Read(Message):
        """A worker read the model's weights (or failed to, with the reason)."""

        view: KernelsView
        token: int
        """The request it answers (tui.latest): only the newest one is shown."""
        layers: list[Any] = field(default_factory=list)
        """KernelViews and DenseViews, in the model's order."""
        error: str = ""

        @property
        def control(self) -> KernelsView:
            """The view that asked."""
            return self.view

    layer: reactive[int] = reactive(0)
    """The position of the layer shown, in the list of Conv2D and Dense layers."""
    channel: reactive[int] = reactive(0)
    """The input channel whose kernels are shown, for a Conv2D with several."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views: list[Any] = []
        """KernelViews and DenseViews as last read, in the model's order."""
        self.dataset: Any = None
        self.label = ""
        """Where the model comes from, in words."""
        self._latest = Latest()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="inspect-bar"):
            yield Select([], prompt="layer", compact=True, id="kernels-layer")
            yield Static(id="kernels-page", classes="inspect-page")
        yield Static(id="kernels-note", classes="inspect-note")
        with ContentSwitcher(initial="kernels-empty", id="kernels-switcher"):
            yield Static(id="kernels-empty", classes="inspect-empty")
            with Horizontal(id="kernels-conv"):
                yield ChannelGrid(label="filter", cell=(16, 5), id="kernels-grid")
                with Vertical(id="kernel-detail"):
                    yield KernelGrid(id="kernel-numbers")
                    yield Static(id="kernel-about")
            with Vertical(id="kernels-dense"):
                yield Static(id="dense-unit")
                with Vertical(id="dense-maps"):
                    yield Heatmap(id="dense-weights")
                    yield Heatmap(id="dense-bias")

    def on_mount(self) -> None:
        self.watch(self.grid, "caption", self._show_page)

    @property
    def grid(self) -> ChannelGrid:
        return self.query_one("#kernels-grid", ChannelGrid)

    def show_empty(self, text: str) -> None:
        """No model: say why and what to do."""
        self._latest.forget()
        self.views = []
        self.query_one("#kernels-empty", Static).update(text)
        self.query_one("#kernels-switcher", ContentSwitcher).current = "kernels-empty"
        self.query_one("#kernels-layer", Select).set_options([])
        self._show_bars(False)

    def _show_bars(self, shown: bool) -> None:
        for bar in self.query(".inspect-bar, .inspect-note"):
            bar.display = shown

    def load(self, model: Any, dataset: Any, label: str) -> None:
        """Read the model's weights in a worker; the newest request wins.

        Args:
            model: A built Keras model.
            dataset: The core.data Dataset it learns from (for a linear unit's true w and b), or None.
            label: Where the model comes from, in words.
        """
        self.dataset, self.label = dataset, label
        self._read(model, self._latest.next())

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="inspect-kernels",
        description="reading the kernels and weights",
    )
    def _read(self, model: Any, token: int) -> None:
        from layerlab.core.inspect import conv_kernels, dense_weights

        try:
            layers = [*conv_kernels(model), *dense_weights(model)]
        except Exception as error:  # shown as words, never as a traceback
            log_failure("reading the kernels and weights", error)
            self.post_message(self.Read(self, token, error=f"{error}"))
            return
        if not get_current_worker().is_cancelled:
            layers.sort(key=lambda view: view.index)
            self.post_message(self.Read(self, token, layers))

    @on(Read)
    def _was_read(self, message: Read) -> None:
        message.stop()
        if not self._latest.is_current(message.token):
            return
        if message.error:
            self.show_empty(f"The weights could not be read: {message.error}")
            return
        old = [view.name for view in self.views]
        shown = old[self.layer] if self.views and self.layer < len(old) else None
        self.views = message.layers
        names = [view.name for view in self.views]
        if not self.views:
            self.show_empty("This model has no Conv2D or Dense layer with weights to show.")
            return
        if names != old:
            labels = [
                kernel_label(v) if hasattr(v, "kernel") else dense_label(v) for v in self.views
            ]
            select = self.query_one("#kernels-layer", Select)
            with self.prevent(Select.Changed):
                select.set_options([(label, n) for n, label in enumerate(labels)])
            self.layer = names.index(shown) if shown in names else 0
            with self.prevent(Select.Changed):
                select.value = self.layer
        self._show()

    @on(Select.Changed, "#kernels-layer")
    def _layer_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, int):
            self.layer = event.value

    def watch_layer(self) -> None:
        self.channel = 0
        self._show()

    def watch_channel(self) -> None:
        self._show()

    def step_layer(self, step: int) -> None:
        """Show the next (1) or previous (-1) layer."""
        if self.views:
            self.layer = (self.layer + step) % len(self.views)
            with self.prevent(Select.Changed):
                self.query_one("#kernels-layer", Select).value = self.layer

    def step_channel(self) -> None:
        """Show the next input channel's kernels (wrapping around)."""
        view = self.current
        if view is not None and hasattr(view, "kernel"):
            self.channel = (self.channel + 1) % view.kernel.shape[2]

    @property
    def current(self) -> Any:
        """The KernelView or DenseView shown, or None."""
        return self.views[self.layer] if 0 <= self.layer < len(self.views) else None

    def _show(self) -> None:
        view = self.current
        if view is None or not self.is_mounted:
            return
        switcher = self.query_one("#kernels-switcher", ContentSwitcher)
        self._show_bars(True)
        if hasattr(view, "kernel"):
            switcher.current = "kernels-conv"
            channel = min(self.channel, view.kernel.shape[2] - 1)
            self.grid.stack = view.kernel[:, :, channel, :]
            note = f"{self.label} · {value_range_text(view.vmin, view.vmax)}"
            if view.kernel.shape[2] > 1:
                note += f" · input channel {channel + 1} of {view.kernel.shape[2]} (c: next)"
            self.query_one("#kernels-note", Static).update(note)
            self._show_numbers()
        else:
            switcher.current = "kernels-dense"
            self._show_dense(view)
        self._show_page()

    def _show_page(self) -> None:
        view = self.current
        text = self.grid.caption if view is not None and hasattr(view, "kernel") else ""
        self.query_one("#kernels-page", Static).update(text)

    @on(ChannelGrid.Selected, "#kernels-grid")
    def _filter_selected(self, event: ChannelGrid.Selected) -> None:
        event.stop()
        self._show_numbers()

    def _show_numbers(self) -> None:
        view = self.current
        if view is None or not hasattr(view, "kernel"):
            return
        number, channel = self.grid.selected, min(self.channel, view.kernel.shape[2] - 1)
        numbers = self.query_one("#kernel-numbers", KernelGrid)
        kernel = view.kernel_of(min(number, view.filters - 1), channel)
        small = max(kernel.shape) <= MAX_NUMBERS
        numbers.display = small
        if small:
            numbers.compact = kernel.shape[0] > 3
            numbers.kernel = kernel
            several = view.kernel.shape[2] > 1
            numbers.title = f"filter {number + 1}" + (f", channel {channel + 1}" if several else "")
        about = (
            []
            if small
            else [f"filter {number + 1}: numbers shown up to {MAX_NUMBERS}×{MAX_NUMBERS}"]
        )
        if view.bias is not None:
            about.append(f"bias {float(view.bias[min(number, view.filters - 1)]):.4g}")
        about.append("←→↑↓ choose a filter")
        self.query_one("#kernel-about", Static).update("\n".join(about))

    def _show_dense(self, view: Any) -> None:
        inputs, units = view.weights.shape
        unit = self.query_one("#dense-unit", Static)
        unit.display = view.w is not None
        if view.w is not None:
            data = self.dataset
            names = list(getattr(data, "feature_names", []) or [])
            unit.update(unit_text(view, names, getattr(data, "metadata", {}) or {}))
        self.query_one("#dense-maps").display = view.w is None
        weights = self.query_one("#dense-weights", Heatmap)
        weights.data = view.weights.T  # a row per unit: wide, as terminals are
        weights.title = f"weights: {units} units (rows) × {inputs} inputs"
        bias = self.query_one("#dense-bias", Heatmap)
        bias.display = view.bias is not None and units > 1
        if view.bias is not None:
            bias.data = view.bias.reshape(1, -1)
            bias.title = f"bias: {units} units"
        low, high = float(view.weights.min()), float(view.weights.max())
        self.query_one("#kernels-note", Static).update(
            f"{self.label} · {value_range_text(low, high)}"
        )
