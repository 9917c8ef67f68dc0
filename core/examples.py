"""The example specs shipped with layerlab, one per course lesson."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
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

