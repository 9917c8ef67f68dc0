"""`layerlab evaluate RUN_DIR --data labelled.csv`: the run's best model measured on labelled
rows, with the run's own loss and metrics."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import LayerlabError
from . import _trained

HELP = "measure a run's best model on labelled rows (its loss and metrics)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _trained.add_run_and_data(parser, "a CSV/TSV/Parquet file with the run's columns and target")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run(args: argparse.Namespace) -> int:
    try:
        model, prepared, frame, where = _trained.load(args.run_dir, args.data)
        x, notes = prepared.features_of(frame, where)
        y = prepared.target_of(frame, where)
    except LayerlabError as exc:
        return _trained.fail(exc)
    figures = model.evaluate(x, y, verbose=0, batch_size=1024, return_dict=True)
    figures = {name: float(value) for name, value in figures.items()}
    for note in notes:
        print(f"layerlab: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({"rows": len(frame), **figures}))
    else:
        print(f"{len(frame):,} rows of {where}")
        for name, value in figures.items():
            print(f"  {name:<24} {value:.4f}")
        if prepared.target_scaling is not None:
            print("  (the target is scaled as in training: losses are in scaled units)")
    return _trained.EXIT_OK
