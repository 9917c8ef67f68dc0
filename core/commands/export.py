"""`layerlab export`: an experiment (a spec, or the spec a run folder kept) as a plain Keras script.

    layerlab export SPEC_OR_RUN_DIR [-o FILE] [--with-model]

The script needs no layerlab: keras and a backend, pandas and numpy (scikit-learn for the
built-in sets). Bad input is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LayerlabError
from ..quiet import quiet_environment

if TYPE_CHECKING:
    from ..export import Exported

HELP = "write an experiment (a spec or a run folder) as a standalone Keras script in the courses' style"
EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SPEC_OR_RUN_DIR", help="a spec file or a run folder")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the script to write (default: <spec name>_keras.py beside the spec, or here for a run)",
    )
    parser.add_argument(
        "--with-model",
        action="store_true",
        help="also copy the run's model.keras and history.csv beside the script",
    )


def run(args: argparse.Namespace) -> int:
    try:
        exported = _export(Path(args.source), args.output, args.with_model)
    except LayerlabError as exc:
        print(f"layerlab export: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"layerlab export: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {exported.script}")
    for path in exported.files:
        print(f"  and {path}")
    print(f"run it with: python {exported.script}")
    return EXIT_OK


def _export(source: Path, output: str | None, with_model: bool) -> Exported:
    from .. import export
    from .. import spec as specs

    run_dir = None
    if not source.exists():
        raise export.ExportError(
            "no such file or folder; give a spec (.toml) or a run folder", "", source
        )
    if source.is_dir():
        if not (source / "spec.toml").is_file():
            kind = (
                "a run of a Keras script without a spec (nothing to export)"
                if (source / "history.csv").exists() or (source / "events.jsonl").exists()
                else "neither a spec file nor a run folder (no spec.toml in it)"
            )
            raise export.ExportError(f"is {kind}", "", source)
        run_dir, spec_file = source, source / "spec.toml"
    else:
        spec_file = source
    spec = specs.load(spec_file)
    if with_model and run_dir is None:
        raise export.ExportError(
            "--with-model copies a run's model.keras and history.csv: give a run folder", "", source
        )
    export.check_exportable(spec)
    folder = Path.cwd() if run_dir is not None else spec_file.resolve().parent
    out = Path(output).expanduser() if output else export.default_path(spec, folder)
    if out.is_dir():
        out = export.default_path(spec, out)
    with (
        _native_logs_silenced()
    ):  # Keras checks the stack; TensorFlow's C++ lines stay off the terminal
        return export.export(spec, out, run_dir=run_dir, with_model=with_model)


@contextlib.contextmanager
def _native_logs_silenced() -> Iterator[None]:
    """File descriptor 2 points at /dev/null meanwhile; Python's own stderr is restored after."""
    quiet_environment()
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
