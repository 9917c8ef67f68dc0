"""Epoch time of training from the app against a bare Keras script, on the course's red-wine recipe.

The app runs headless (App.run_test) in a child process that presses `t` and, each time the Train
screen has handled a message bringing epoch ends, prints the last epoch number it brought; the
bare script (benchmarks/headless_epoch.py's) prints a line per epoch. This script timestamps each
line as it arrives. The app gathers events a few times a second, so an epoch's time is a span's:
from the first line after the warm-up epochs to the last, divided by the epochs between, for both
programs alike. It holds everything: the fit step, validation, the callbacks, and the app's own
handling and repaints. Early stopping is off and the epoch count fixed. Runs alternate; the ratio
is of medians (budget 1.05, DESIGN.md section 7).

    python benchmarks/app_epoch.py [--data examples/red-wine.csv] [--runs 5] [--epochs 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import headless_epoch  # noqa: E402  (its bare Keras script)

BUDGET = 1.05
WARMUP = 3
"""Epochs left out at the start: tracing and warm-up."""


def fixed_spec(data: str, epochs: int, folder: Path) -> Path:
    """The red-wine example with early stopping off and a fixed epoch count, written to `folder`."""
    from layerlab.core import spec as specs

    spec = specs.with_data_path(
        specs.load(ROOT / "examples" / "red_wine.toml"), Path(data).resolve()
    )
    spec.fit.early_stopping = None
    spec.fit.epochs = epochs
    return specs.save(spec, folder / "red_wine_fixed.toml")


def epoch_time(command: list[str]) -> float:
    """Run `command`, timestamp its `epoch N` lines; seconds per epoch over the span after warm-up."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    stamps: list[tuple[int, float]] = []
    for line in proc.stdout:
        if match := re.match(r"epoch (\d+)", line):
            stamps.append((int(match.group(1)), time.perf_counter()))
    if proc.wait() != 0 or not stamps:
        raise SystemExit(f"failed: {' '.join(command)}")
    first = stamps[0][0]
    start = next((n, t) for n, t in stamps if n >= first + WARMUP)
    end = stamps[-1]
    return (end[1] - start[1]) / (end[0] - start[0])


async def settle(app, pilot, timeout: float = 120.0) -> None:
    """Wait for Keras, the data and the shape check; fail loudly rather than wait for ever."""
    deadline = time.monotonic() + timeout
    while not app.workspace.status.settled:
        error = app.workspace.status.data.error
        if app.engine_status.startswith("✗") or error:
            raise SystemExit(f"the app could not get ready: {app.engine_status} {error or ''}")
        if time.monotonic() > deadline:
            raise SystemExit("the app did not get ready in time")
        await pilot.pause(0.05)


async def drive_app(spec_path: str) -> None:
    """Child: open the app headless, wait for the engine, press t, print epochs as they are handled."""
    from layerlab.core import events
    from layerlab.screens.train import TrainScreen
    from layerlab.tui.app import LayerlabApp

    def handled(message) -> None:
        if isinstance(message, TrainScreen.EventsReceived):
            ended = [e.epoch for e in message.gathered if isinstance(e, events.EpochEnded)]
            if ended:
                print("epoch", ended[-1], flush=True)

    app = LayerlabApp(spec_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("4")  # the Train screen, listened to before training starts
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        screen.message_signal.subscribe(app, handled)
        await pilot.press("t")
        await pilot.pause()
        while screen.active:
            await asyncio.sleep(0.1)  # not pilot.pause(): it makes every widget answer, often


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "examples" / "red-wine.csv"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(drive_app(args.child))
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LAYERLAB_RUNS"] = str(Path(tmp) / "runs")
        os.environ["LAYERLAB_STATE"] = str(Path(tmp) / "state")
        spec = fixed_spec(args.data, args.epochs, Path(tmp))
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(headless_epoch.BARE)
        app_cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(spec)]
        bare_cmd = [sys.executable, str(bare_script), args.data, str(args.epochs)]
        ours, bare = [], []
        for i in range(args.runs):
            ours.append(epoch_time(app_cmd))
            bare.append(epoch_time(bare_cmd))
            print(
                f"run {i + 1}: app {ours[-1] * 1000:.1f} ms/epoch, bare keras {bare[-1] * 1000:.1f} ms/epoch"
            )
    ratio = statistics.median(ours) / statistics.median(bare)
    print(
        f"median epoch: app {statistics.median(ours) * 1000:.1f} ms, bare keras {statistics.median(bare) * 1000:.1f} ms"
    )
    print(f"ratio app / bare: {ratio:.3f} (budget {BUDGET})")


if __name__ == "__main__":
    main()
