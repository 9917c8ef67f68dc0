"""An experiment written out as a standalone Keras script in the courses' style, without layerlab.

The script reads the data with pandas, splits, cleans and scales it exactly as layerlab does (the
same seeded split, stratified when layerlab stratifies), builds the same `keras.Sequential`
stack, compiles it, fits it with EarlyStopping and plots `history.history` when matplotlib is
installed. The data set is loaded here first, so only the preparation steps it needed are
written and the script stays as short as the courses' notebooks.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import RUN_BASE
from .data import Dataset, load_dataset
from .export_data import IMAGE_SETS, ScriptWriter
from .export_keras import ExportError
from .spec import Spec

__all__ = ["ExportError", "Exported", "check_exportable", "default_path", "export"]


@dataclass
class Exported:
    """What an export wrote."""

    script: Path
    files: list[Path] = field(default_factory=list)
    """Files written or copied beside the script (a generated data set, the run's model)."""


def default_path(spec: Spec, folder: Path) -> Path:
    """`<spec name>_keras.py` in `folder`."""
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", spec.name).strip("_") or "experiment"
    return folder / f"{stem}_keras.py"


def check_exportable(spec: Spec) -> None:
    """Refuses, before any data is read, what a plain tabular script cannot reproduce."""
    name = spec.data.name or ""
    path = spec.data_path()
    if name.startswith("keras:") or name in IMAGE_SETS or (path is not None and path.is_dir()):
        raise ExportError(
            "is an image data set; export writes scripts for tables (CSV, TSV, Parquet files "
            "and the tabular built-in sets), not for images",
            "",
            name or path,
        )
    for i, layer in enumerate(spec.layers):
        if layer.type == "PretrainedBase" or str(layer.params.get("base", "")).startswith(RUN_BASE):
            raise ExportError(
                "a PretrainedBase has no plain keras.layers equivalent in an exported script; "
                "export a stack of keras.layers only",
                f"layers[{i}]",
            )


def export(
    spec: Spec,
    out: Path,
    *,
    dataset: Dataset | None = None,
    run_dir: Path | None = None,
    with_model: bool = False,
) -> Exported:
    """Writes the script to `out` (and a generated data set, or the run's model, beside it).

    Args:
        spec: The experiment (a run's spec.toml when exporting a run).
        out: The script's path.
        dataset: The spec's data already loaded (the app has it); loaded here otherwise.
        run_dir: The run folder exported, whose model.keras and history.csv `with_model` copies.

    Raises:
        LayerlabError: the spec, its data or its layers cannot be exported (the message says why).
    """
    check_exportable(spec)
    out = out.resolve()
    if out.suffix != ".py":
        raise ExportError(f"{out.name} is not a Python file name; give one ending in .py", "-o")
    data_path = spec.data_path()
    if out == (data_path and data_path.resolve()):
        raise ExportError("is the data file itself; give the script another name", "-o", out)
    if dataset is None:
        dataset = load_dataset(spec)
    copies: list[tuple[Path, str]] = []
    if with_model:
        if run_dir is None:
            raise ExportError("--with-model copies a run's model: give a run folder, not a spec")
        stem = out.stem.removesuffix("_keras")
        for name, copy_as in (
            ("model.keras", f"{stem}_model.keras"),
            ("history.csv", f"{stem}_history.csv"),
        ):
            if not (run_dir / name).is_file():
                raise ExportError(f"has no {name} to copy (the run saved no epoch)", "", run_dir)
            copies.append((run_dir / name, copy_as))
    writer = ScriptWriter(spec, dataset, out, [c for _, c in copies])
    text = writer.script()
    out.parent.mkdir(parents=True, exist_ok=True)
    written = list(writer.tables)  # already written: the script's split was checked on them
    for source, copy_as in copies:
        shutil.copyfile(source, out.parent / copy_as)
        written.append(out.parent / copy_as)
    out.write_text(text, encoding="utf-8")
    return Exported(out, written)
