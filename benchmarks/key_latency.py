"""Key press to repaint on the Train screen while the red-wine recipe trains on both cores.

The app runs headless (App.run_test) in this process, training the course's red-wine model with
early stopping off. Once epochs flow, `l` (the curves' log-scale toggle) is pressed N times at
irregular moments; each latency is from just before the press to the first frame the compositor
hands to the display with the curves drawn in the new scale (App._display, which Textual calls
for every frame, headless too; only the terminal write is skipped). Prints p50 and p95 (budget:
p95 ≤ 50 ms, DESIGN.md section 7).

    python benchmarks/key_latency.py [--data examples/red-wine.csv] [--presses 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from app_epoch import fixed_spec, settle  # noqa: E402

BUDGET_MS = 50.0


def repainted(frames: list[tuple[float, int, bool]], drawn: int, want: bool) -> float | None:
    """When the first frame with the curves redrawn (after `drawn` redraws) in the `want` scale was shown."""
    return next((when for when, n, log in frames if n > drawn and log == want), None)


async def measure(spec_path: Path, presses: int) -> tuple[list[float], int]:
    """Latencies in milliseconds, and the epochs trained meanwhile."""
    from layerlab.screens.train import TrainScreen
    from layerlab.tui.app import LayerlabApp

    app = LayerlabApp(spec_path)
    frames: list[tuple[float, int, bool]] = []  # (when, curve redraws so far, log scale)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        curves = screen.curves
        display = app._display

        def timed_display(target, renderable) -> None:
            display(target, renderable)
            if renderable is not None and target is screen:
                frames.append((time.perf_counter(), curves.redraws, curves.log_y))

        app._display = timed_display
        while len(curves.epochs) < 3:
            if not screen.active:
                raise SystemExit(
                    "training ended before the presses: " + screen.log_view.text[-300:]
                )
            await asyncio.sleep(0.05)
        first = len(curves.epochs)
        rng = random.Random(0)
        latencies = []
        for _ in range(presses):
            await asyncio.sleep(rng.uniform(0.1, 0.3))
            want, drawn = not curves.log_y, curves.redraws
            frames.clear()
            pressed = time.perf_counter()
            await pilot.press("l")
            while (shown := repainted(frames, drawn, want)) is None:
                if time.perf_counter() - pressed > 10:
                    raise SystemExit("no repaint within 10 s of a key press")
                await asyncio.sleep(0.001)
            latencies.append((shown - pressed) * 1000)
        trained = len(curves.epochs) - first
        screen.action_stop()
        while screen.active:
            await asyncio.sleep(0.05)
    return latencies, trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "examples" / "red-wine.csv"))
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LAYERLAB_RUNS"] = str(Path(tmp) / "runs")
        os.environ["LAYERLAB_STATE"] = str(Path(tmp) / "state")
        spec = fixed_spec(args.data, 100_000, Path(tmp))
        latencies, trained = asyncio.run(measure(spec, args.presses))
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"{len(latencies)} presses of `l` while training ({trained} epochs meanwhile)")
    print(
        f"key to repaint: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies[-1]:.1f} ms (budget p95 {BUDGET_MS:.0f} ms)"
    )


if __name__ == "__main__":
    main()
