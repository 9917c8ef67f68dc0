"""One learning-curve redraw with 10,000 epochs, against plotext alone drawing the same points.

The widget runs in a headless Textual app; each timed redraw is what a repaint costs: the
widget's render (slicing and decimating the series, plotext's build, the ANSI text) and Textual
turning that into strips. The bare reference is plotext itself plotting both full series at the
same size (``plotext.plot`` twice, then ``plotext.build``). Medians of ``--repeats`` runs; the
budget (DESIGN.md section 7) is 20 ms.

    python benchmarks/curve_redraw.py [--epochs 10000] [--repeats 20] [--size 100x30]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotext  # noqa: E402
from layerlab.tui.widgets.curves import MARKER, LearningCurves  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.visual import Visual, visualize  # noqa: E402

BUDGET_MS = 20.0


def history(epochs: int) -> list[dict[str, float]]:
    """Noisy course-like curves: training loss keeps falling, validation turns up (overfitting)."""
    rng = random.Random(0)
    out = []
    for epoch in range(1, epochs + 1):
        loss = 0.5 / math.sqrt(epoch) + 0.02 + rng.gauss(0, 0.004)
        val = loss + 0.00002 * epoch + rng.gauss(0, 0.006)
        out.append({"loss": loss, "val_loss": val})
    return out


class CurvesApp(App):
    def compose(self) -> ComposeResult:
        yield LearningCurves()


async def time_widget(logs: list[dict[str, float]], repeats: int, size: tuple[int, int]):
    """Milliseconds per redraw (render only, and render + strips), and the plot's size."""
    app = CurvesApp()
    async with app.run_test(size=size) as pilot:
        curves = app.query_one(LearningCurves)
        for epoch, row in enumerate(logs, start=1):
            curves.add_epoch(epoch, row)
        curves.mark_best(len(logs) // 3)
        await pilot.pause(0.5)
        width, height = curves.size
        render_ms, repaint_ms = [], []
        for i in range(repeats):
            curves.mark_best(len(logs) // 3 + i % 2)  # new data: the next render must rebuild
            before = curves.redraws
            started = time.perf_counter()
            text = curves.render()
            built = time.perf_counter()
            Visual.to_strips(curves, visualize(curves, text), width, height, curves.visual_style)
            done = time.perf_counter()
            assert curves.redraws == before + 1, "a cached render was timed"
            render_ms.append((built - started) * 1000)
            repaint_ms.append((done - started) * 1000)
        return statistics.median(render_ms), statistics.median(repaint_ms), (width, height)


def time_bare(logs: list[dict[str, float]], repeats: int, size: tuple[int, int]) -> float:
    """Milliseconds for plotext alone to plot and build both full series."""
    xs = list(range(1, len(logs) + 1))
    loss, val = [row["loss"] for row in logs], [row["val_loss"] for row in logs]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        plotext.clear_figure()
        plotext.plotsize(*size)
        plotext.plot(xs, loss, label="loss", marker=MARKER)
        plotext.plot(xs, val, label="val_loss", marker=MARKER)
        plotext.xlabel("epoch")
        plotext.build()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--size", default="100x30", help="the app's size, columns x rows")
    args = parser.parse_args()
    size = tuple(int(n) for n in args.size.split("x"))
    logs = history(args.epochs)
    render, repaint, plot_size = asyncio.run(time_widget(logs, args.repeats, size))
    bare = time_bare(logs, args.repeats, plot_size)
    verdict = "within" if repaint <= BUDGET_MS else "OVER"
    print(
        f"{args.epochs:,} epochs × 2 series, plot {plot_size[0]}×{plot_size[1]}, median of {args.repeats}"
    )
    print(f"widget render (slice, decimate, plotext build, text): {render:7.2f} ms")
    print(
        f"widget repaint (render + Textual strips):            {repaint:7.2f} ms  ({verdict} the {BUDGET_MS:.0f} ms budget)"
    )
    print(f"bare plotext (plot + build, every point):             {bare:7.2f} ms")
    print(f"ratio widget repaint / bare plotext:                  {repaint / bare:7.3f}")


if __name__ == "__main__":
    main()
