"""`layerlab runs`: list the run folders with their status, best metric, epochs and size; prune old ones.

    layerlab runs [RUNS_DIR] [--json]
    layerlab runs prune [RUNS_DIR] --keep N [--yes]

Reads the folders only (no Keras). A live run, one whose writer still holds its lock, is never
removed: prune takes each folder's lock itself before removing it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .. import runs, words

HELP = "list the runs (status, best metric, epochs, size); 'runs prune --keep N' removes old ones"
EXIT_OK, EXIT_BAD_INPUT = 0, 2

SHORT_REASONS = {"completed": "all epochs", "early_stopping": "early stopping", "nan": "NaN loss"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "layerlab runs [RUNS_DIR] [--json]\n       layerlab runs prune [RUNS_DIR] --keep N [--yes]"
    )
    parser.add_argument(
        "words",
        nargs="*",
        metavar="[prune] RUNS_DIR",
        help="the folder that holds the runs (default: $LAYERLAB_RUNS or ./runs); 'prune' first to remove old runs",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per run and line")
    parser.add_argument(
        "--keep", metavar="N", help="prune: keep the newest N runs (and every live one)"
    )
    parser.add_argument(
        "--yes", action="store_true", help="prune: remove without asking (needed off a terminal)"
    )


class BadInput(ValueError):
    """A command line that cannot be used: one line, exit 2."""


def run(args: argparse.Namespace) -> int:
    try:
        prune, root, given = _target(args)
        if prune:
            return _prune(root, _keep(args.keep), args.yes)
        if args.keep is not None or args.yes:
            raise BadInput("--keep and --yes go with 'layerlab runs prune'")
        return _list(root, given, args.json)
    except BadInput as exc:
        print(f"layerlab runs: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _target(args: argparse.Namespace) -> tuple[bool, Path, bool]:
    """Whether to prune, the runs folder, and whether it was given on the command line."""
    given = list(args.words)
    prune = bool(given) and given[0] == "prune"
    if prune:
        given = given[1:]
        if args.json:
            raise BadInput("--json lists runs; 'prune' takes --keep N and --yes")
    if len(given) > 1:
        raise BadInput(f"expected one RUNS_DIR, got {len(given)}: {' '.join(given)}")
    root = runs.runs_root(given[0] if given else None)
    if given or root.exists():
        _check_root(root)
    return prune, root, bool(given)


def _check_root(root: Path) -> None:
    if not root.exists():
        raise BadInput(f"no such folder: {root}")
    if not root.is_dir():
        raise BadInput(f"{root} is a file; give the folder that holds the run folders")
    if (root / "events.jsonl").exists() or (root / "history.csv").exists():
        raise BadInput(f"{root} is one run's folder; give the folder that holds the runs")


def _keep(text: str | None) -> int:
    if text is None:
        raise BadInput("prune needs --keep N: how many of the newest runs to keep")
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise BadInput(f"--keep expects a whole number, 0 or more, got {text!r}")
    return value


# -- listing ------------------------------------------------------------------------------------


def describe(record: runs.RunRecord) -> dict[str, Any]:
    """One run as the listing shows it (strict JSON: non-finite numbers are null)."""
    done = record.finished
    status = record.status
    reason = done.get("reason", "completed") if done else None
    if status in ("completed", "early_stopping", "nan"):
        status = "finished"
    started = next((e for e in record.events if e.get("event") == "run_started"), {})
    best = record.best
    return {
        "name": record.path.name,
        "path": str(record.path.resolve()),
        "status": status,
        "reason": reason,
        "epochs": done.get("epochs_run", len(record.history)) if done else len(record.history),
        "planned_epochs": started.get("epochs") or None,
        "best_epoch": (done or {}).get("best_epoch") or _best_epoch(record),
        "best": {k: _finite(v) for k, v in best.items()},
        "size": folder_size(record.path),
        "started": _when(record.started),
        "spec_less": runs.spec_less(record.path),
        "writer_pid": runs.writer_pid(record.path),
        "problem": record.problem,
    }


def _best_epoch(record: runs.RunRecord) -> int | None:
    rows = [r for r in record.history if math.isfinite(r.get("val_loss", math.nan))]
    return int(min(rows, key=lambda r: r["val_loss"])["epoch"]) if rows else None


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _when(stamp: str) -> str | None:
    """20250131-142501 as 2025-01-31 14:25:01."""
    if len(stamp) != 15:
        return None
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}:{stamp[13:]}"


def folder_size(path: Path) -> int:
    """Bytes the folder takes on disk (links not followed)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            total += getattr(info, "st_blocks", 0) * 512 or info.st_size
    return total


def size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _best_text(best: dict[str, float | None]) -> str:
    if not best:
        return "-"
    name = next((k for k in ("val_loss", "loss") if k in best), next(iter(best)))
    return f"{name} {words.number(best[name])}"


def _status_text(row: dict[str, Any]) -> str:
    if row["status"] == "finished" and row["reason"] in SHORT_REASONS:
        return f"finished ({SHORT_REASONS[row['reason']]})"
    if row["status"] == "running" and row["writer_pid"]:
        return f"running (pid {row['writer_pid']})"
    return row["status"]


def _list(root: Path, given: bool, as_json: bool) -> int:
    try:
        records = runs.list_runs(root)
    except OSError as exc:
        raise BadInput(f"cannot list {root}: {exc.strerror or exc}") from None
    rows = [describe(record) for record in records]
    if as_json:
        for row in rows:
            print(json.dumps(row, allow_nan=False), flush=True)
        return EXIT_OK
    if not rows:
        print(f"no runs in {root}" + ("" if given else " (give RUNS_DIR, or set LAYERLAB_RUNS)"))
        return EXIT_OK
    width = max(len(row["name"]) for row in rows)
    print(f"{'RUN':<{width}}  {'STATUS':<27} {'EPOCHS':>7}  {'BEST':<20} {'SIZE':>9}")
    for row in rows:
        epochs = str(row["epochs"]) + (
            f"/{row['planned_epochs']}"
            if row["status"] == "running" and row["planned_epochs"]
            else ""
        )
        print(
            f"{row['name']:<{width}}  {_status_text(row):<27} {epochs:>7}  "
            f"{_best_text(row['best']):<20} {size_text(row['size']):>9}"
            + ("  (no spec: a Keras script)" if row["spec_less"] else "")
            + (f"  ({row['problem']})" if row["problem"] else "")
        )
    print(f"{len(rows)} runs in {root}, {size_text(sum(row['size'] for row in rows))}")
    return EXIT_OK


# -- pruning ------------------------------------------------------------------------------------


def _prune(root: Path, keep: int, yes: bool) -> int:
    try:
        records = runs.list_runs(root)
    except OSError as exc:
        raise BadInput(f"cannot list {root}: {exc.strerror or exc}") from None
    older = records[keep:]
    live = [r for r in older if runs.writer_pid(r.path)]
    doomed = [r for r in older if r not in live]
    for record in live:
        print(f"keeping {record.path.name}: it is being written (live)")
    if not doomed:
        print(f"nothing to remove: {len(records)} runs in {root}, keeping the newest {keep}")
        return EXIT_OK
    size = sum(folder_size(r.path) for r in doomed)
    what = f"{len(doomed)} run{'s' if len(doomed) != 1 else ''} ({size_text(size)})"
    if not yes:
        if not sys.stdin.isatty():
            raise BadInput(
                f"would remove {what} from {root}, but cannot ask for confirmation: "
                "stdin is not a terminal; add --yes to remove them"
            )
        for record in doomed:
            print(f"  {record.path.name}  {describe(record)['status']}")
        try:
            answer = input(f"Remove these {what}, keeping the newest {keep}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return EXIT_OK
    removed = 0
    for record in doomed:
        removed += _remove(record.path)
    print(f"removed {removed} of {len(doomed)} runs from {root}, kept the newest {keep}")
    return EXIT_OK


def _remove(path: Path) -> int:
    """Remove one run folder, holding its lock so that no writer is (or starts) writing it."""
    try:
        lock = runs.RunLock(path)
    except runs.RunBusy as exc:
        print(f"keeping {path.name}: {exc}")
        return 0
    except OSError as exc:
        print(f"cannot remove {path.name}: {exc.strerror or exc}", file=sys.stderr)
        return 0
    try:
        shutil.rmtree(path)
    except OSError as exc:
        print(f"cannot remove all of {path.name}: {exc.strerror or exc}", file=sys.stderr)
        return 0
    finally:
        lock.release()
    print(f"removed {path.name}")
    return 1
