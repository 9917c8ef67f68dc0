"""Reading a table file (CSV, TSV, Parquet) into a DataFrame, with the delimiter sniffed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..data.base import DataError

TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
ACCEPTED = "a .csv, .tsv, .txt or .parquet file (CSV/TSV may be compressed: .gz, .zip, ...)"
DELIMITERS = (",", ";", "\t", "|")


def table_kind(path: Path) -> str | None:
    """ "text", "parquet", or None for a suffix layerlab does not read."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in TEXT_SUFFIXES:
        return "text"
    if last in PARQUET_SUFFIXES and path.suffix.lower() == last:
        return "parquet"
    return None


def read_table(path: str | Path) -> pd.DataFrame:
    """The file as a DataFrame, exactly as read (no cleaning).

    CSV-like files have their delimiter (comma, semicolon, tab or bar) sniffed from the first
    lines; text is read as UTF-8, falling back to Latin-1.

    Raises:
        DataError: the file is missing, empty, of an unsupported type, or not a readable table.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file; expected " + ACCEPTED + " or an image folder", path)
    if path.is_dir():
        raise DataError("is a folder; expected " + ACCEPTED, path)
    if not path.is_file():  # a named pipe would block the reader until some writer comes
        raise DataError("is not a regular file (a pipe or a device); expected " + ACCEPTED, path)
    kind = table_kind(path)
    if kind is None:
        shown = "".join(path.suffixes) or "(no extension)"
        raise DataError(
            f"unsupported file type {shown}; expected {ACCEPTED}, or a folder of images", path
        )
    if path.stat().st_size == 0:
        raise DataError("is empty; expected a header line and rows of data", path)
    frame = _read_parquet(path) if kind == "parquet" else _read_text(path)
    if frame.columns.size == 0:
        raise DataError("is empty; expected a header line and rows of data", path)
    if len(frame) == 0:
        raise DataError(
            f"has a header ({', '.join(map(str, frame.columns))}) but no rows of data", path
        )
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install pyarrow", path) from None
    except Exception as exc:
        raise DataError(f"is not a readable Parquet file ({_first_line(exc)})", path) from None


def _read_text(path: Path) -> pd.DataFrame:
    compressed = path.suffix.lower() in COMPRESSED
    sample, encoding = ("", "utf-8") if compressed else _sample(path)
    if not compressed and not sample.strip():
        raise DataError("is empty; expected a header line and rows of data", path)
    default = "\t" if path.suffixes and path.suffixes[0].lower() in (".tsv", ".tab") else ","
    sep = sniff_delimiter(sample, default)
    try:
        return pd.read_csv(path, sep=sep, encoding=encoding, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError("is empty; expected a header line and rows of data", path) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(
            f"could not be read as a table ({_first_line(exc)}); expected {ACCEPTED}", path
        ) from None


def _sample(path: Path, size: int = 65536) -> tuple[str, str]:
    with path.open("rb") as handle:
        raw = handle.read(size)
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode(
        "latin-1", "replace"
    ), "latin-1"  # pragma: no cover - latin-1 decodes anything


def sniff_delimiter(sample: str, default: str = ",") -> str:
    """The delimiter that splits the first lines into the same number of fields (most wins).

    csv.Sniffer guesses from character frequencies and is easily fooled by decimal commas or
    quoted text; counting fields per line with the csv reader, quotes respected, is steadier.
    """
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if len(lines) > 1 and len(sample) >= 65536:
        lines = lines[:-1]  # the last sampled line may be cut short
    best, best_fields = default, 1
    for delimiter in DELIMITERS:
        counts = {
            len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        }
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = delimiter, fields
    return best


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
