"""`layerlab sweep SPEC --set KEY=V1,V2 [--set ...] [--seeds N] [--parallel N]`: every combination
trained headless (the SGD lesson's exercise: how learning rate and batch size change training),
each run in the runs folder under one sweep name, then a table ranked by the best validation
figure.

Every setting is checked before anything trains: a bad key or value is one line and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import runs, words
from .. import spec as specs

HELP = "train every combination of some settings (e.g. learning rate × batch size) and rank them"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_RUNS = 1000
_INDEX = re.compile(r"^([A-Za-z_]+)\[(\d+)\]$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="the experiment spec (.toml) or an example's name")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        required=True,
        metavar="KEY=V1,V2,...",
        help="a spec key and the values to try, e.g. compile.learning_rate=0.0001,0.001,0.01 "
        "or layers[0].units=16,64 (repeat --set for a grid)",
    )
    parser.add_argument(
        "--seeds", type=int, default=1, metavar="N", help="train each combination with N seeds"
    )
    parser.add_argument(
        "--parallel", type=int, default=1, metavar="N", help="train N runs at once (default 1)"
    )
    parser.add_argument("--epochs", type=int, metavar="N", help="at most N epochs per run")
    parser.add_argument(
        "--data", help="read the data from this file or folder instead of data.path"
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="the first seed (default: the spec's data.seed)"
    )
    parser.add_argument(
        "--runs-dir", help="where run folders go (default: $LAYERLAB_RUNS or ./runs)"
    )
    parser.add_argument("--name", help="the sweep's name (default: the spec's name and the time)")


class SweepError(ValueError):
    """A --set, --seeds or --parallel that cannot be used: the message says which and why."""


@dataclass
class Trial:
    """One run of the sweep: its settings, seed, and what came of it."""

    settings: dict[str, Any]
    seed: int
    spec_path: Path
    run_dir: str = ""
    finished: dict[str, Any] = field(default_factory=dict)
    failed: str = ""
    seconds: float = 0.0

    @property
    def label(self) -> str:
        shown = " ".join(f"{_short(k)}={v}" for k, v in self.settings.items())
        return f"{shown} seed={self.seed}"


def run(args: argparse.Namespace) -> int:
    from ..cli import _spec_or_example

    try:
        spec = specs.load(_spec_or_example(args.spec))
        if args.data:
            if not Path(args.data).expanduser().exists():
                raise specs.SpecError(f"no such file or folder: {args.data}", "--data")
            spec = specs.with_data_path(spec, args.data)
        if args.seed is not None:
            if not 0 <= args.seed <= specs.MAX_SEED - 100:
                raise specs.SpecError(f"expected 0 to {specs.MAX_SEED - 100:,}", "--seed")
            spec.data.seed = args.seed
    except specs.SpecError as exc:
        print(f"layerlab: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        grid = [parse_setting(text) for text in args.settings]
        _check_counts(args, grid)
        combos = [dict(zip([k for k, _ in grid], values, strict=True)) for values in _product(grid)]
        for combo in combos:
            apply(spec, combo)  # every combination checked before the first run starts
    except SweepError as exc:
        print(f"layerlab: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    root = runs.runs_root(args.runs_dir)
    name = args.name or f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    with tempfile.TemporaryDirectory(prefix="layerlab-sweep-") as folder:
        trials = []
        for i, combo in enumerate(combos):
            ran = apply(spec, combo).with_paths_resolved()
            ran.name = _run_name(spec.name, combo)
            path = Path(folder) / f"{i}.toml"
            specs.save(ran, path)
            trials += [Trial(combo, spec.data.seed + s, path) for s in range(args.seeds)]
        total = len(trials)
        print(
            f"▶ sweep {name}: {len(combos)} combination(s) × {args.seeds} seed(s) = {total} runs, "
            f"{args.parallel} at a time, into {root}",
            flush=True,
        )
        interrupted = _train_all(trials, name, root, args)
    _report(trials, name, root)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if all(t.finished for t in trials) else EXIT_FAILED


def parse_setting(text: str) -> tuple[str, list[Any]]:
    """ "compile.learning_rate=0.001,0.01" → ("compile.learning_rate", [0.001, 0.01])."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise SweepError(
            f"--set {text!r}: expected KEY=V1,V2,..., e.g. compile.learning_rate=0.001,0.01"
        )
    parsed = [_value(v.strip()) for v in values.split(",") if v.strip()]
    if len(set(map(repr, parsed))) != len(parsed):
        raise SweepError(f"--set {key}: a value is listed twice")
    return key, parsed


def _value(text: str) -> Any:
    """A value as TOML reads it (numbers, true/false, quoted text); bare words stay text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply(spec: specs.Spec, settings: dict[str, Any]) -> specs.Spec:
    """A copy of `spec` with the settings made, checked as a spec file is.

    Raises:
        SweepError: a key that is no spec key, or a value the spec refuses; names the --set.
    """
    raw = spec.to_dict()
    for key, value in settings.items():
        _put(raw, key, value)
    try:
        return specs.from_dict(raw, base_dir=spec.base_dir)
    except specs.SpecError as exc:
        shown = ", ".join(f"{k}={v}" for k, v in settings.items())
        raise SweepError(f"--set {shown}: {exc.message}") from None


def _put(raw: dict[str, Any], key: str, value: Any) -> None:
    where: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        indexed = _INDEX.match(part)
        name, index = (indexed.group(1), int(indexed.group(2))) if indexed else (part, None)
        if not isinstance(where, dict):
            raise SweepError(f"--set {key}: {'.'.join(parts[:i])} is not a table")
        if index is not None:
            items = where.get(name)
            if not isinstance(items, list) or index >= len(items):
                count = len(items) if isinstance(items, list) else 0
                entries = "1 entry, [0]" if count == 1 else f"{count} entries, [0] to [{count - 1}]"
                raise SweepError(f"--set {key}: {name} has {entries}")
            if last:
                items[index] = value
            where = items[index]
        elif last:
            where[name] = value
        else:
            if name not in where:
                if name not in ("fit", "compile", "data", "accelerator", "early_stopping"):
                    raise SweepError(
                        f"--set {key}: no table {name!r}; keys look like compile.learning_rate, "
                        "fit.batch_size, data.seed or layers[0].units"
                    )
                where[name] = {}
            where = where[name]


def _check_counts(args: argparse.Namespace, grid: list[tuple[str, list[Any]]]) -> None:
    keys = [k for k, _ in grid]
    if len(set(keys)) != len(keys):
        raise SweepError("--set names the same key twice: give all its values in one --set")
    if not 1 <= args.seeds <= 100:
        raise SweepError(f"--seeds: expected 1 to 100, got {args.seeds}")
    if not 1 <= args.parallel <= 64:
        raise SweepError(f"--parallel: expected 1 to 64, got {args.parallel}")
    if args.epochs is not None and not 1 <= args.epochs <= specs.MAX_EPOCHS:
        raise SweepError(f"--epochs: expected 1 to {specs.MAX_EPOCHS:,}, got {args.epochs}")
    total = args.seeds
    for _, values in grid:
        total *= len(values)
    if total > MAX_RUNS:
        raise SweepError(f"{total:,} runs is more than {MAX_RUNS:,}; sweep fewer values")


def _product(grid: list[tuple[str, list[Any]]]) -> list[tuple[Any, ...]]:
    return list(itertools.product(*(values for _, values in grid)))


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _run_name(name: str, combo: dict[str, Any]) -> str:
    return name + "".join(f"-{_short(k)}{v}" for k, v in combo.items())


def _train_all(trials: list[Trial], name: str, root: Path, args: argparse.Namespace) -> bool:
    """Trains the trials, `args.parallel` at a time; True when Ctrl-C cut the sweep short."""
    waiting = list(trials)
    running: list[tuple[Trial, subprocess.Popen, float]] = []
    done = 0
    try:
        while waiting or running:
            while waiting and len(running) < args.parallel:
                trial = waiting.pop(0)
                running.append((trial, _start(trial, name, root, args), time.perf_counter()))
            time.sleep(0.2)
            for entry in [r for r in running if r[1].poll() is not None]:
                running.remove(entry)
                trial, process, started = entry
                _collect(trial, process, time.perf_counter() - started)
                done += 1
                print(f"[{done}/{len(trials)}] {trial.label}: {_outcome(trial)}", flush=True)
    except KeyboardInterrupt:  # the runs got the same Ctrl-C: they stop after their batch
        for trial, process, started in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=60)
            _collect(trial, process, time.perf_counter() - started)
        print("■ sweep interrupted: the runs not started are left out", flush=True)
        return True
    return False


def _start(trial: Trial, name: str, root: Path, args: argparse.Namespace) -> subprocess.Popen:
    tag = json.dumps({"name": name, "settings": trial.settings, "seed": trial.seed})
    command = [sys.executable, "-m", "layerlab", "train", str(trial.spec_path), "--json"]
    command += ["--runs-dir", str(root), "--seed", str(trial.seed), "--sweep", tag]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=False
    )


def _collect(trial: Trial, process: subprocess.Popen, seconds: float) -> None:
    out, err = process.communicate()
    trial.seconds = seconds
    for line in out.splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if event.get("run_dir"):
                trial.run_dir = event["run_dir"]
            if event.get("event") == "finished":
                trial.finished = event
            elif event.get("event") == "failed":
                trial.failed = event.get("error", "failed")
    if not trial.finished and not trial.failed:
        lines = err.strip().splitlines()
        trial.failed = lines[-1] if lines else f"exit code {process.returncode}"


def _outcome(trial: Trial) -> str:
    if not trial.finished:
        return f"✗ {trial.failed}"
    ext = trial.finished.get("extreme") or {}
    if not ext:
        return f"{trial.finished.get('epochs_run', 0)} epochs, {trial.seconds:.1f} s"
    return (
        f"{ext['kind']} {ext['monitor']} {words.number(ext['value'])} at epoch {ext['epoch']} "
        f"({trial.finished.get('epochs_run', 0)} epochs, {trial.seconds:.1f} s)"
    )


def _report(trials: list[Trial], name: str, root: Path) -> None:
    """The ranked table on screen, and as <runs>/<name>.sweep.csv."""
    import pandas as pd

    rows = []
    for trial in trials:
        ext = trial.finished.get("extreme") or {}
        row: dict[str, Any] = {_short(k): v for k, v in trial.settings.items()}
        row["seed"] = trial.seed
        row["best"] = ext.get("value")
        row["monitor"] = ext.get("monitor", "")
        row["at epoch"] = ext.get("epoch")
        row["epochs"] = trial.finished.get("epochs_run")
        row["seconds"] = round(trial.seconds, 1)
        row["run folder"] = Path(trial.run_dir).name if trial.run_dir else trial.failed
        row["_higher"] = ext.get("kind") == "highest"
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return
    higher = bool(table["_higher"].any())
    table = table.drop(columns="_higher").sort_values(
        "best", ascending=not higher, na_position="last"
    )
    table.insert(0, "rank", range(1, len(table) + 1))
    print(f"\nsweep {name}, best first:")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    settings = [c for c in table.columns if c not in RESULT_COLUMNS]
    if table["seed"].nunique() > 1 and settings:
        grouped = table.groupby(settings, dropna=False)["best"].agg(["mean", "min", "max", "count"])
        grouped = grouped.sort_values("mean", ascending=not higher)
        print("\nover the seeds:")
        print(grouped.to_string(float_format=lambda v: f"{v:.4g}"))
    with contextlib.suppress(OSError):
        root.mkdir(parents=True, exist_ok=True)
        table.to_csv(root / f"{name}.sweep.csv", index=False)
        print(f"\ntable written to {root / f'{name}.sweep.csv'}")


RESULT_COLUMNS = ("rank", "seed", "best", "monitor", "at epoch", "epochs", "seconds", "run folder")
