"""The SGD lesson's picture, live: for a linear unit, the data as points, the minibatch the last
step used highlighted, and the model's line y = w·x + b after that step; for any other model, the
loss of each batch as training goes.

Fed by core events (LinePoints once, then Minibatch or BatchEnded), it repaints at most
``FRAMES_PER_SECOND`` times a second whatever the rate of batches, so training keeps its speed.
"""

from __future__ import annotations

from typing import Any

from layerlab.core import events
from textual.app import RenderResult
from textual_plotext import PlotextPlot

FRAMES_PER_SECOND = 5
MOST_BATCHES = 2000
"""Batch losses kept for the other models' view (the oldest go first)."""
COLORS = {"data": "gray", "batch": "orange+", "line": "cyan+", "loss": "cyan+"}


class SgdView(PlotextPlot):
    """Data, minibatch and line of a linear unit; else the loss per batch."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.points: tuple[list[float], list[float]] | None = None
        """The linear unit's data (x, y), once its run has sent them."""
        self.minibatch: events.Minibatch | None = None
        self.losses: list[float] = []
        self.steps = 0
        """Batches seen in all (x of the loss view)."""
        self.frames = 0
        """How many times the plot has been built."""
        self._version = 0
        self._dirty = False
        self._cache: tuple[object, RenderResult] | None = None

    @property
    def is_line(self) -> bool:
        """Whether the run is a linear unit's, shown as the lesson draws it."""
        return self.points is not None

    def on_mount(self) -> None:
        self.set_interval(1 / FRAMES_PER_SECOND, self._flush, name="sgd-view-frame")
        self.border_title = "batches"

    def clear(self) -> None:
        self.points, self.minibatch, self.losses, self.steps = None, None, [], 0
        self.border_title = "batches"
        self._changed()

    def feed(self, event: events.Event) -> None:
        match event:
            case events.RunStarted():
                self.clear()
            case events.LinePoints(x=x, y=y):
                self.points = (list(x), list(y))
                self.border_title = "SGD: data · minibatch · line"
                self._changed()
            case events.Minibatch():
                self.minibatch = event
                self.border_subtitle = (
                    f"epoch {event.epoch} batch {event.batch}: y = {event.w:.3g}·x + {event.b:.3g}"
                )
                self._changed()
            case events.BatchEnded(loss=loss):
                self.steps += 1
                self.losses.append(loss)
                if len(self.losses) > MOST_BATCHES:
                    del self.losses[: len(self.losses) - MOST_BATCHES]
                if not self.is_line:
                    self.border_subtitle = f"batch {self.steps}: loss {loss:.4g}"
                    self._changed()

    def render(self) -> RenderResult:
        key = (self._version, self.size, self.app.theme)
        if self._cache is None or self._cache[0] != key:
            self._draw()
            self._cache = (key, super().render())
            self.frames += 1
        return self._cache[1]

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        if self.points is not None:
            xs, ys = self.points
            plt.scatter(xs, ys, color=COLORS["data"], marker="dot")
            batch = self.minibatch
            if batch is not None:
                plt.scatter(batch.x, batch.y, color=COLORS["batch"], marker="●")
                lo, hi = min(xs), max(xs)
                plt.plot(
                    [lo, hi],
                    [batch.w * lo + batch.b, batch.w * hi + batch.b],
                    color=COLORS["line"],
                    marker="braille",
                )
            plt.xlabel("x")
            return
        if self.losses:
            first = self.steps - len(self.losses) + 1
            plt.plot(
                list(range(first, self.steps + 1)),
                self.losses,
                color=COLORS["loss"],
                marker="braille",
            )
        plt.xlabel("batch")

    def _changed(self) -> None:
        self._version += 1
        self._dirty = True

    def _flush(self) -> None:
        if self._dirty:
            self._dirty = False
            self.refresh()
