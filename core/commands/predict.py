"""`layerlab predict RUN_DIR --data new.csv [-o predictions.csv]`: the run's best model applied
to new rows, prepared as its training rows were."""

from __future__ import annotations

import argparse
import sys

from ..errors import LayerlabError
from . import _trained

HELP = "predict the target of new rows with a run's best model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _trained.add_run_and_data(parser, "a CSV/TSV/Parquet file with the columns the run used")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the predictions to this CSV (default: print)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        model, prepared, frame, where = _trained.load(args.run_dir, args.data)
        x, notes = prepared.features_of(frame, where)
    except LayerlabError as exc:
        return _trained.fail(exc)
    out = prepared.outputs(model.predict(x, verbose=0, batch_size=1024))
    for note in notes:
        print(f"layerlab: {note}", file=sys.stderr)
    if args.output:
        try:
            out.to_csv(args.output, index=False)
        except OSError as exc:
            print(f"layerlab: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return _trained.EXIT_BAD_INPUT
        print(f"wrote {len(out):,} predictions to {args.output}")
    else:
        out.to_csv(sys.stdout, index=False)
    return _trained.EXIT_OK
