"""What predict and evaluate share: a run's best model and its preparation, and a data file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import LayerlabError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def add_run_and_data(parser: argparse.ArgumentParser, data_help: str) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (see 'layerlab runs')")
    parser.add_argument("--data", required=True, metavar="FILE", help=data_help)


def load(run_dir: str, data: str) -> tuple[Any, Any, Any, str]:
    """(the run's best model, its Preparation, the data file's table, the file's name).

    Raises:
        LayerlabError: the run folder or the file cannot be used; the message says why.
    """
    from ..data.files import read_table
    from ..preparation import Preparation

    folder = Path(run_dir)
    if not folder.is_dir():
        raise LayerlabError("is not a run folder (no such folder)", file=folder)
    prepared = Preparation.read(folder)
    model_path = folder / "model.keras"
    if not model_path.is_file():
        raise LayerlabError("has no model.keras: the run ended before its first epoch", file=folder)
    frame = read_table(Path(data))
    from ..model import keep_tensorflow_out

    keep_tensorflow_out()
    import keras

    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as exc:
        raise LayerlabError(f"cannot be loaded ({exc})", file=model_path) from None
    return model, prepared, frame, str(data)


def fail(exc: LayerlabError) -> int:
    print(f"layerlab: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT
