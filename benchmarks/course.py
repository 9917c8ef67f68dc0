"""The course's numbers over several seeds: each lesson's example trained headless, as a new user
runs it, and the figure the course prints beside the spread across seeds.

    python benchmarks/course.py [--seeds 3] [--backend jax]

The seed sets both the split and the initial weights (data.seed). tests/test_course.py checks
seed 0 of each in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

LESSONS = (
    # example, the figure, best of it (min or max), the course's own figure, the check
    ("red_wine", "val_loss", min, "0.090–0.092 (min validation MAE)", lambda v: v <= 0.095),
    ("ion", "val_binary_accuracy", max, "0.886 (notebook's final accuracy)", lambda v: v >= 0.85),
    ("capacity_wide", "val_loss", min, "compare with capacity_deep", None),
    ("capacity_deep", "val_loss", min, "deeper beats wider on the spiral", None),
)


def train(example: str, seed: int, backend: str, runs: str) -> list[dict[str, float]]:
    done = subprocess.run(
        [sys.executable, "-m", "layerlab", "train", example, "--seed", str(seed), "--json"]
        + ["--runs-dir", runs],
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return [line["logs"] for line in lines if line["event"] == "epoch_end"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--backend", default="jax", choices=("jax", "tensorflow", "torch"))
    args = parser.parse_args()
    figures: dict[str, list[float]] = {}
    ok = True
    with tempfile.TemporaryDirectory() as runs:
        for example, metric, best, course, check in LESSONS:
            values = []
            for seed in range(args.seeds):
                history = train(example, seed, args.backend, runs)
                values.append(best(row[metric] for row in history))
            figures[example] = values
            shown = ", ".join(f"{v:.4f}" for v in values)
            verdict = ""
            if check is not None:
                passed = all(check(v) for v in values)
                ok &= passed
                verdict = "  ok" if passed else "  OUT OF RANGE"
            print(
                f"{example:<14} {metric:<20} seeds 0..{args.seeds - 1}: {shown}  "
                f"mean {statistics.mean(values):.4f}  spread {max(values) - min(values):.4f}  "
                f"(course: {course}){verdict}"
            )
    wide, deep = figures["capacity_wide"], figures["capacity_deep"]
    gap = statistics.mean(wide) - statistics.mean(deep)
    spread = max(max(wide) - min(wide), max(deep) - min(deep))
    shows = abs(gap) > 2 * spread
    ok &= shows
    winner = "deeper" if gap > 0 else "wider"
    print(
        f"capacity on the spiral: {winner} wins by {abs(gap):.4f} val_loss, "
        f"{'more' if shows else 'LESS'} than twice the larger spread ({2 * spread:.4f})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
