"""The example specs shipped with layerlab, one per course lesson."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

# layerlab.examples is the repository's examples/ folder, installed as package data.
EXAMPLES_DIR = Path(str(importlib.resources.files("layerlab.examples")))
DEFAULT_EXAMPLE = "binary_classification"


@dataclass(frozen=True)
class Example:
    name: str
    path: Path
    title: str
    """The comment on the spec's first line."""


def examples_dir() -> Path:
    return EXAMPLES_DIR


def list_examples() -> list[Example]:
    """Every example spec, by file name."""
    if not EXAMPLES_DIR.is_dir():
        return []
    found = []
    for path in sorted(EXAMPLES_DIR.glob("*.toml")):
        first = path.read_text(encoding="utf-8").splitlines()[:1]
        title = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""
        found.append(Example(path.stem, path, title))
    return found


def example_path(name: str = DEFAULT_EXAMPLE) -> Path:
    """The path of an example by name (with or without .toml); KeyError if there is none."""
    path = EXAMPLES_DIR / f"{name.removesuffix('.toml')}.toml"
    if not path.is_file():
        raise KeyError(name)
    return path


def data_files(spec_path: Path) -> list[Path]:
    """The data files beside an example that its spec reads (data.path, relative)."""
    import tomllib

    data = tomllib.loads(spec_path.read_text(encoding="utf-8")).get("data", {})
    names = [data.get("path"), data.get("valid_path")]
    return [
        spec_path.parent / n
        for n in names
        if isinstance(n, str) and not Path(n).is_absolute() and (spec_path.parent / n).is_file()
    ]


def copy_example(name: str, folder: Path) -> list[Path]:
    """Copy an example's spec and its data into `folder` (made if needed); refuse to overwrite.

    Raises:
        KeyError: No example has that name.
        FileExistsError: A file of the same name is in the folder already.
    """
    import shutil

    spec = example_path(name)
    sources = [spec, *data_files(spec)]
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        if (folder / source.name).exists():
            raise FileExistsError(17, "exists", str(folder / source.name))
    copied = []
    for source in sources:
        copied.append(Path(shutil.copy2(source, folder / source.name)))
        (folder / source.name).chmod(0o644)
    return copied
