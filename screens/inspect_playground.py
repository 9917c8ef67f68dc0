"""The Inspect screen's convolution playground: a picture through Filter → Detect → Condense, no model needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from layerlab.core.errors import log_failure
from layerlab.core.pictures import picture_names
from layerlab.core.playground import ACTIVATIONS, KERNELS, PADDINGS, InspectError, parse_kernel
from layerlab.tui.latest import Latest
from layerlab.tui.widgets.colormap import format_value
from layerlab.tui.widgets.heatmap import Heatmap
from layerlab.tui.widgets.kernel_grid import KernelGrid
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static
from textual.worker import get_current_worker

FILE = "file"
"""The picture choice that reads the file typed beside it."""
CUSTOM = "custom"
"""The kernel choice for a kernel typed into the grid or the text box."""
DEBOUNCE_S = 0.12
"""Typing waits this long for the next key before the picture is extracted again."""
GRID_MAX = 7
"""Kernels up to this many rows and columns are shown (and editable) as a grid of numbers."""


def kernel_text(kernel: np.ndarray) -> str:
    """A kernel as parse_kernel reads it, e.g. "-1 -2 -1; 0 0 0; 1 2 1"."""
    return "; ".join(" ".join(format_value(float(v)) for v in row) for row in kernel)


@dataclass(frozen=True)
class Settings:
    """Everything one extraction needs, copied for the worker."""

    picture: str
    path: str
    kernel: np.ndarray
    stride: int
    padding: str
    activation: str
    pool_size: int
    pool_stride: int
    pool_padding: str


class PlaygroundView(Vertical):
    """The course's extraction figure for any picture and kernel; computed by Keras in a worker."""

    @dataclass
    class Extracted(Message):
        """A worker ran the picture through the three steps (or failed, with the reason)."""

        view: PlaygroundView
        token: int
        """The request it answers (tui.latest): only the newest one is shown."""
        extraction: Any = None
        error: str = ""

        @property
        def control(self) -> PlaygroundView:
            """The view that asked."""
            return self.view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kernel = KERNELS["bottom_sobel"].copy()
        """The kernel of the last accepted edit."""
        self.extraction: Any = None
        """The last good core.playground Extraction, or None before the first."""
        self.error = ""
        """What is wrong with the current settings, empty when nothing is."""
        self._latest = Latest()
        self._timer: Any = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="play-panels"):
            for step in ("input", "filter", "detect", "condense"):
                yield Heatmap(title=step.title(), id=f"play-{step}")
        with Horizontal(id="play-controls"):
            grid = KernelGrid(self.kernel, editable=True, id="play-kernel")
            grid.compact = True
            yield grid
            with Horizontal(id="play-settings"):
                with Vertical(id="play-filter-settings", classes="play-column"):
                    pictures = (*picture_names(), FILE)
                    yield from self._row(
                        "picture", self._choice(pictures, "circle", "play-picture")
                    )
                    path = Input(placeholder="image path, enter", compact=True, id="play-file")
                    yield from self._row("file", path)
                    kernels = (*KERNELS, CUSTOM)
                    yield from self._row(
                        "kernel", self._choice(kernels, "bottom_sobel", "play-preset")
                    )
                    typed = Input(kernel_text(self.kernel), compact=True, id="play-typed")
                    yield from self._row("typed", typed)
                    yield from self._row("stride", self._number("1", "play-stride"))
                with Vertical(id="play-pool-settings", classes="play-column"):
                    yield from self._row("padding", self._choice(PADDINGS, "same", "play-padding"))
                    yield from self._row(
                        "detect", self._choice(ACTIVATIONS, "relu", "play-activation")
                    )
                    yield from self._row("pool", self._number("2", "play-pool-size"))
                    yield from self._row("pool step", self._number("2", "play-pool-stride"))
                    yield from self._row(
                        "pool pad", self._choice(PADDINGS, "same", "play-pool-padding")
                    )
        yield Static(id="play-status", classes="inspect-status")

    @staticmethod
    def _row(label: str, field: Input | Select) -> ComposeResult:
        """One setting: its name, then its box, on one line."""
        with Horizontal(classes="play-setting"):
            yield Label(label)
            yield field

    @staticmethod
    def _choice(values: tuple[str, ...], value: str, id: str) -> Select:
        """A compact select of `values`, showing `value`."""
        return Select([(v, v) for v in values], value=value, allow_blank=False, compact=True, id=id)

    @staticmethod
    def _number(value: str, id: str) -> Input:
        """A compact box for a whole number."""
        return Input(value, restrict=r"\d*", compact=True, id=id)

    def on_mount(self) -> None:
        self.compute()

    # -- reading the settings ----------------------------------------------------------------

    def _value(self, id: str) -> Any:
        return self.query_one(f"#{id}").value

    def _whole(self, id: str, name: str) -> int:
        text = self._value(id).strip()
        if not text or int(text) < 1:
            raise InspectError(
                f"{name} must be a whole number of at least 1, not {text or 'empty'!r}"
            )
        return int(text)

    def settings(self) -> Settings:
        """The settings on screen; raises InspectError for a bad number."""
        return Settings(
            picture=self._value("play-picture"),
            path=self._value("play-file").strip(),
            kernel=self.kernel.copy(),
            stride=self._whole("play-stride", "stride"),
            padding=self._value("play-padding"),
            activation=self._value("play-activation"),
            pool_size=self._whole("play-pool-size", "pool size"),
            pool_stride=self._whole("play-pool-stride", "pool step"),
            pool_padding=self._value("play-pool-padding"),
        )

    # -- computing -----------------------------------------------------------------------------

    def compute(self, delay: float = 0.0) -> None:
        """Extract again with the settings on screen, after `delay` seconds of quiet."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if delay:
            self._timer = self.set_timer(delay, self.compute)
            return
        try:
            settings = self.settings()
        except InspectError as error:
            self._say(str(error))
            return
        if settings.picture == FILE and not settings.path:
            self._say("type the path of an image file beside 'file', then enter")
            return
        first = self.extraction is None
        self._status("computing…" + (" (Keras warms up on the first run)" if first else ""), "")
        self._extract(settings, self._latest.next())

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="inspect-playground",
        description="filtering, detecting and condensing a picture",
    )
    def _extract(self, settings: Settings, token: int) -> None:
        from layerlab.core.pictures import SAMPLE_WIDTH, load_picture, picture
        from layerlab.core.playground import extract

        try:
            if settings.picture == FILE:
                image = load_picture(settings.path, SAMPLE_WIDTH)
            else:
                image = picture(settings.picture)
            result = extract(
                image,
                settings.kernel,
                stride=settings.stride,
                padding=settings.padding,
                activation=settings.activation,
                pool_size=settings.pool_size,
                pool_stride=settings.pool_stride,
                pool_padding=settings.pool_padding,
            )
        except Exception as error:  # shown as words, never as a traceback
            log_failure("the convolution playground", error)
            self.post_message(self.Extracted(self, token, error=str(error)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Extracted(self, token, result))

    @on(Extracted)
    def _extracted(self, message: Extracted) -> None:
        message.stop()
        if not self._latest.is_current(message.token):
            return
        if message.error:
            self._say(message.error)
            return
        self.extraction = result = message.extraction
        self._status("", "")
        activation = self._value("play-activation")
        for step, data in (
            ("input", result.input),
            ("filter", result.filtered),
            ("detect", result.detected),
            ("condense", result.condensed),
        ):
            heatmap = self.query_one(f"#play-{step}", Heatmap)
            name = f"Detect {activation}" if step == "detect" else step.title()
            heatmap.title = "{} {}×{}".format(name, *data.shape)
            heatmap.data = data

    def _say(self, error: str) -> None:
        """Show what is wrong; the last good panels stay."""
        kept = " — showing the last good result" if self.extraction is not None else ""
        self._status(error + kept, error)

    def _status(self, text: str, error: str) -> None:
        self.error = error
        status = self.query_one("#play-status", Static)
        status.update(text)
        status.set_class(bool(error), "-error")

    # -- edits -----------------------------------------------------------------------------------

    def _set_kernel(self, kernel: np.ndarray, preset: str) -> None:
        self.kernel = np.asarray(kernel, dtype=np.float32)
        grid = self.query_one("#play-kernel", KernelGrid)
        grid.display = max(self.kernel.shape) <= GRID_MAX
        if grid.display:
            grid.kernel = self.kernel
        with self.prevent(Select.Changed, Input.Changed):
            self.query_one("#play-preset", Select).value = preset
            self.query_one("#play-typed", Input).value = kernel_text(self.kernel)
        self.compute()

    @on(Select.Changed, "#play-preset")
    def _preset(self, event: Select.Changed) -> None:
        event.stop()
        if event.value in KERNELS:
            self._set_kernel(KERNELS[event.value], str(event.value))

    @on(KernelGrid.Changed, "#play-kernel")
    def _cell_set(self, event: KernelGrid.Changed) -> None:
        event.stop()
        self._set_kernel(event.kernel, CUSTOM)

    @on(Input.Submitted, "#play-typed")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            kernel = parse_kernel(event.value)
        except InspectError as error:
            self._say(str(error))
            return
        self._set_kernel(kernel, CUSTOM)

    @on(Input.Submitted, "#play-file")
    def _file(self, event: Input.Submitted) -> None:
        event.stop()
        with self.prevent(Select.Changed):
            self.query_one("#play-picture", Select).value = FILE
        self.compute()

    @on(Select.Changed, "#play-picture, #play-padding, #play-activation, #play-pool-padding")
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        self.compute()

    @on(Input.Changed, "#play-stride, #play-pool-size, #play-pool-stride")
    def _number_typed(self, event: Input.Changed) -> None:
        event.stop()
        self.compute(DEBOUNCE_S)
