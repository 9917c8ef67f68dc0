"""Live learning curves: training and validation loss, or a metric beside its val_ twin, drawn with plotext.

The widget takes events at any rate and repaints at most ``REDRAWS_PER_SECOND`` times a second.
Before plotext sees a series it is decimated to the plot's width (min/max per column), so a
redraw costs about the same with 100 epochs or 10,000.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

from layerlab.core import events
from textual.app import RenderResult
from textual.binding import Binding
from textual.reactive import reactive
from textual_plotext import PlotextPlot

REDRAWS_PER_SECOND = 4
"""New data repaints the plot at most this often; key presses repaint at once."""
ZOOMS = (0, 50, 20)
"""What `z` cycles through: all epochs (0), then the last 50, then the last 20."""
Y_AXIS_COLUMNS = 8  # what the y tick labels and the frame take of the width: no data there
COLORS = {"train": "cyan+", "val": "orange+", "partial": "gray", "best": "green+", "stop": "red+"}
MARKER = "braille"  # two dots a column: decimating to two points a column hides nothing

Line = tuple[str, list[float], list[float], str]  # label, xs, ys, color


@dataclass(frozen=True)
class CurveView:
    """What one redraw draws, in plot coordinates (x in epochs, counted from 1)."""

    lines: tuple[Line, ...]
    markers: tuple[tuple[int, str, str], ...]  # (epoch, label, color): the best, the stop
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    log_y: bool


def decimate(xs: list[float], ys: list[float], columns: int) -> tuple[list[float], list[float]]:
    """Min/max decimation: each column's lowest and highest point in x order, and both ends.

    Spikes survive; plotext gets ``2 * columns + 2`` points at most (a shorter series as it is).
    """
    if len(xs) <= 2 * columns + 2:
        return list(xs), list(ys)
    keep, step = [0], len(xs) / columns
    for column in range(columns):
        lo, hi = int(column * step), int((column + 1) * step)
        chunk = ys[lo:hi]
        keep += sorted({lo + chunk.index(min(chunk)), lo + chunk.index(max(chunk))})
    keep.append(len(xs) - 1)
    return [xs[i] for i in keep], [ys[i] for i in keep]


class LearningCurves(PlotextPlot, can_focus=True):
    """Training and validation curves of one run, the running epoch's batches, best and stop marks."""

    DEFAULT_CSS = """
    LearningCurves {
        border: round $panel; min-height: 8; min-width: 30;
        border-title-color: $text; border-subtitle-color: $text-muted;
    }
    LearningCurves:focus { border: round $accent; }
    """

    BINDINGS = [
        Binding("m", "next_metric", "Metric", tooltip="Show the next metric beside its val_ twin"),
        Binding("l", "toggle_log", "Log y", tooltip="Logarithmic or linear y axis"),
        Binding("z", "cycle_zoom", "Zoom", tooltip="All epochs, the last 50, the last 20"),
    ]

    theme = reactive("clear")
    """plotext's theme; "clear" lets the widget's colors through and halves the ANSI codes to parse."""
    metric: reactive[str] = reactive("loss")
    """The curve pair shown: "loss" (with "val_loss"), or a metric such as "accuracy"."""
    log_y: reactive[bool] = reactive(False)
    """Whether the y axis is logarithmic."""
    zoom: reactive[int] = reactive(0)
    """Show only the last this many epochs; 0 shows them all."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epochs: list[int] = []
        self.series: dict[str, list[float]] = {}
        """Each logged value by key ("loss", "val_loss", ...), one per epoch, NaN where missing."""
        self.batches: list[tuple[float, float]] = []
        """The running epoch's (x, loss) points, x = epoch - 1 + batch / steps."""
        self.best_epoch: int | None = None
        self.stop_epoch: int | None = None
        self.redraws = 0
        """How many times the plot has been built: a repaint, never an event, adds one."""
        self._batch_epoch, self._version, self._dirty = 0, 0, False
        self._cache: tuple[object, RenderResult] | None = None
        self._titles = ("", "")

    def on_mount(self) -> None:
        self.set_interval(1 / REDRAWS_PER_SECOND, self._flush, name="learning-curves-redraw")
        for name in ("metric", "log_y", "zoom"):
            self.watch(self, name, self._update_titles)

    @property
    def metrics(self) -> list[str]:
        """The curve pairs there are to show, "loss" first."""
        first = ["loss"] if "loss" in self.series or not self.series else []
        return list(dict.fromkeys(first + [key.removeprefix("val_") for key in self.series]))

    def add_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """Record a finished epoch (counted from 1); an epoch seen before replaces it and what followed."""
        keep = bisect.bisect_left(self.epochs, epoch)
        del self.epochs[keep:]
        for values in self.series.values():
            del values[keep:]
        self.epochs.append(epoch)
        for key in logs:
            self.series.setdefault(key, [math.nan] * (len(self.epochs) - 1))
        for key, values in self.series.items():
            values.append(_number(logs.get(key)))
        self.batches.clear()
        self._changed(titles=True)

    def add_batch(self, epoch: int, batch: int, steps: int, loss: float) -> None:
        """Record a batch of the running epoch, drawn from the last epoch on (steps 0: unknown)."""
        if epoch != self._batch_epoch:
            self._batch_epoch = epoch
            self.batches.clear()
        self.batches.append((epoch - 1 + batch / max(steps, batch, 1), _number(loss)))
        self._changed()

    def mark_best(self, epoch: int | None) -> None:
        """Mark the best epoch so far (None removes the mark)."""
        self.best_epoch = epoch
        self._changed()

    def mark_stop(self, epoch: int | None) -> None:
        """Mark the epoch where early stopping (or the user) ended training."""
        self.stop_epoch = epoch
        self._changed()

    def clear(self) -> None:
        """Forget every curve and mark, for a new run."""
        for part in (self.epochs, self.series, self.batches):
            part.clear()
        self.best_epoch = self.stop_epoch = None
        self._changed(titles=True)

    def feed(self, event: events.Event) -> None:
        """Take a training event from core: the one call the Train screen needs."""
        match event:
            case events.RunStarted():
                self.clear()
            case events.BatchEnded(epoch=epoch, batch=batch, steps=steps, loss=loss):
                self.add_batch(epoch, batch, steps, loss)
            case events.EpochEnded(epoch=epoch, logs=logs, best_epoch=best):
                self.add_epoch(epoch, logs)
                self.mark_best(best or None)
            case events.EarlyStopped(stopped_epoch=stopped, best_epoch=best):
                self.mark_best(best or self.best_epoch)
                self.mark_stop(stopped)
            case events.Stopped(epoch=epoch):
                self.mark_stop(epoch)

    def view(self, width: int) -> CurveView:
        """What a redraw at this width draws: the visible part of the curves, decimated."""
        base = self.metric if self.metric in self.metrics else "loss"
        last = float(self.epochs[-1]) if self.epochs else 0.0
        partial = self._partial(last) if base == "loss" else ([], [])
        hi = max(last, partial[0][-1] if partial[0] else 0.0, 1.0)
        first = self.epochs[0] if self.epochs else 0  # the first epoch's batches start at 0
        lo = max(float(first), hi - self.zoom) if self.zoom else float(first)
        start = bisect.bisect_left(self.epochs, math.floor(lo))
        columns = max(8, width - Y_AXIS_COLUMNS)
        lines: list[Line] = []
        for key, color in ((base, COLORS["train"]), ("val_" + base, COLORS["val"])):
            if key in self.series:
                xs, ys = self._visible(self.epochs[start:], self.series[key][start:])
                lines.append((key, *decimate(xs, ys, columns), color))
        if partial[0]:
            lines.append(("", *self._visible(*partial), COLORS["partial"]))
        markers = tuple(
            (e, f"{name} {e}", COLORS[name])
            for e, name in ((self.best_epoch, "best"), (self.stop_epoch, "stop"))
            if e is not None and lo <= e <= hi
        )
        ylim = _ylim([y for line in lines for y in line[2]], self.log_y)
        return CurveView(tuple(lines), markers, (lo, max(hi, lo + 1)), ylim, self.log_y)

    def render(self) -> RenderResult:
        """Build the plot, unless nothing it shows has changed since the last build."""
        # The titles name the pair, the log axis and the zoom: all the view there is to cache by.
        key = (self._version, self.size, self._titles, self.app.theme, self.theme)
        if self._cache is None or self._cache[0] != key:
            self._draw(self.view(self.size.width))
            self._cache = (key, super().render())
            self.redraws += 1
        return self._cache[1]

    def action_next_metric(self) -> None:
        names = self.metrics
        at = names.index(self.metric) + 1 if self.metric in names else 0
        self.metric = names[at % len(names)]

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y

    def action_cycle_zoom(self) -> None:
        self.zoom = ZOOMS[(ZOOMS.index(self.zoom) + 1) % len(ZOOMS)] if self.zoom in ZOOMS else 0

    def _changed(self, titles: bool = False) -> None:
        self._version += 1
        self._dirty = True
        if titles:
            self._update_titles()

    def _flush(self) -> None:
        """The timer's tick: repaint once for everything that arrived since the last tick."""
        if self._dirty:
            self._dirty = False
            self.refresh()

    def _update_titles(self) -> None:
        """The pair shown in the border's title, the view's state in its subtitle."""
        names = self.metrics
        base = self.metric if self.metric in names else "loss"
        hints = [f"m {names.index(base) + 1}/{len(names)}"] if len(names) > 1 else []
        hints += (["log y"] if self.log_y else []) + ([f"last {self.zoom}"] if self.zoom else [])
        title = f"{base} · val_{base}" if f"val_{base}" in self.series else base
        titles = (title, " · ".join(hints))
        if titles != self._titles:  # setting a border title repaints, even to the same text
            self._titles = titles
            self.border_title, self.border_subtitle = titles

    def _partial(self, last: float) -> tuple[list[float], list[float]]:
        """The running epoch's batch losses, joined to the last finished epoch's training loss."""
        points = list(self.batches)
        if points and self.series.get("loss") and last == self._batch_epoch - 1:
            points.insert(0, (last, self.series["loss"][-1]))
        return [x for x, _ in points], [y for _, y in points]

    def _visible(self, xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
        """Drop NaN and infinite values, and values a log axis cannot show."""
        if ys and math.isfinite(sum(ys)) and (not self.log_y or min(ys) > 0):
            return xs, ys  # the usual case, found without a Python loop
        keep = [i for i, y in enumerate(ys) if math.isfinite(y) and (y > 0 or not self.log_y)]
        return [xs[i] for i in keep], [ys[i] for i in keep]

    def _draw(self, view: CurveView) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.xlabel("epoch")
        plt.yscale("log" if view.log_y else "linear")
        for label, xs, ys, color in view.lines:
            if xs:
                plt.plot(xs, ys, label=label or None, color=color, marker=MARKER)
        lo, hi = view.xlim
        plt.xlim(lo, hi)
        plt.xticks(_ticks(lo, hi, max(2, (self.size.width - Y_AXIS_COLUMNS) // 10)))
        plt.ylim(*(map(math.log10, view.ylim) if view.log_y else view.ylim))
        legend_rows = sum(1 for label, xs, *_ in view.lines if label and xs)
        for row, (epoch, label, color) in enumerate(view.markers, start=legend_rows):
            plt.vertical_line(epoch, color)
            align = "left" if epoch - lo <= (hi - lo) / 2 else "right"
            plt.text(label, epoch, self._row_y(view, row), color=color, alignment=align)

    def _row_y(self, view: CurveView, row: int) -> float:
        """The y value of a canvas row (0 is the top), so that labels sit below the legend."""
        rows = max(self.size.height - 4, 2)  # less the x axis, its ticks and its label
        bottom, top = (math.log10(v) for v in view.ylim) if view.log_y else view.ylim
        y = top - min(row, rows - 1) * (top - bottom) / (rows - 1)
        return 10**y if view.log_y else y


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _ylim(ys: list[float], log: bool) -> tuple[float, float]:
    """The y range of what is drawn, padded a little; never below zero for values that are not."""
    if not ys:
        return (0.1, 1.0) if log else (0.0, 1.0)
    low, high = (math.log10(min(ys)), math.log10(max(ys))) if log else (min(ys), max(ys))
    pad = (high - low) * 0.08 or abs(high) * 0.1 or 0.5
    low, high = (max(low - pad, 0.0) if low >= 0 and not log else low - pad), high + pad
    return (10**low, 10**high) if log else (low, high)


def _ticks(lo: float, hi: float, most: int) -> list[int]:
    """Whole-epoch ticks 1, 2 or 5 × 10^k apart, at most ``most`` of them."""
    span, step = max(hi - lo, 1.0), 1
    while span / step > most:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1, 2, 5, 10, 20, 50 …
    return list(range(math.ceil(lo / step) * step, int(hi) + 1, step)) or [round(lo)]
