"""Reading a table file (CSV, TSV, Parquet) into a DataFrame, with the delimiter sniffed."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from ..data.base import DataError

TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
ACCEPTED = "a .csv, .tsv, .txt or .parquet file (CSV/TSV may be compressed: .gz, .zip, ...)"
DELIMITERS = (",", ";", "\t", "|")
T = TypeVar("T")


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


def read_table(path: str | Path, rows: int | None = None) -> pd.DataFrame:
    """The file as a DataFrame, exactly as read (no cleaning); only its first `rows` if given.

    CSV-like files have their delimiter (comma, semicolon, tab or bar) sniffed from the first
    lines; text is read as UTF-8, falling back to Latin-1.

    Raises:
        DataError: the file is missing, empty, of an unsupported type, or not a readable table.
    """
    path = Path(path)
    kind = check_table(path)
    if kind == "parquet":
        frame = _read_parquet(path, rows)
    else:
        frame = _parsing(path, lambda: pd.read_csv(path, nrows=rows, **_text_options(path)))
    if frame.columns.size == 0:
        raise DataError("is empty; expected a header line and rows of data", path)
    if len(frame) == 0:
        raise DataError(
            f"has a header ({', '.join(map(str, frame.columns))}) but no rows of data", path
        )
    return frame


def check_table(path: Path) -> str:
    """The kind of table file `path` is ("text" or "parquet"), once it is known to be readable.

    Raises:
        DataError: the file is missing, a folder, not a regular file, empty, or of another type.
    """
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
    return kind


def table_chunks(
    path: Path, rows: int, dtype: dict[str, Any] | None = None
) -> Iterator[pd.DataFrame]:
    """The table `rows` rows at a time (row groups' batches for Parquet, via pyarrow)."""
    if check_table(path) == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError("reading Parquet needs pyarrow: pip install pyarrow", path) from None
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
                frame = batch.to_pandas()
                yield frame.astype(dtype) if dtype else frame
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"is not a readable Parquet file ({_first_line(exc)})", path) from None
        return
    reader = _parsing(
        path, lambda: pd.read_csv(path, chunksize=rows, dtype=dtype, **_text_options(path))
    )
    with reader:
        while True:
            chunk = _parsing(path, lambda: next(reader, None))
            if chunk is None:
                return
            yield chunk


def table_size(path: Path) -> tuple[int, bool]:
    """How many rows the table has: (exactly, True) for Parquet, (an estimate, False) for text
    files, from the size of the file and of its first lines."""
    if check_table(path) == "parquet":
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows, True
        except ImportError:
            raise DataError("reading Parquet needs pyarrow: pip install pyarrow", path) from None
        except Exception as exc:
            raise DataError(f"is not a readable Parquet file ({_first_line(exc)})", path) from None
    size = path.stat().st_size
    if path.suffix.lower() in COMPRESSED:
        size *= 4  # a typical ratio for numbers as text
        sample = ""
    else:
        sample, _ = _sample(path)
    lines = sample.count("\n")
    if lines < 2:
        return max(1, size // 64), False
    return max(1, int(size / (len(sample.encode("utf-8", "replace")) / lines)) - 1), False


def _read_parquet(path: Path, rows: int | None = None) -> pd.DataFrame:
    if rows is not None:
        return next(table_chunks(path, rows), pd.DataFrame())
    try:
        return pd.read_parquet(path)
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install pyarrow", path) from None
    except Exception as exc:
        raise DataError(f"is not a readable Parquet file ({_first_line(exc)})", path) from None


def _text_options(path: Path) -> dict[str, Any]:
    """How pandas should read a CSV-like file: its delimiter and encoding."""
    compressed = path.suffix.lower() in COMPRESSED
    sample, encoding = ("", "utf-8") if compressed else _sample(path)
    if not compressed and not sample.strip():
        raise DataError("is empty; expected a header line and rows of data", path)
    default = "\t" if path.suffixes and path.suffixes[0].lower() in (".tsv", ".tab") else ","
    return {
        "sep": sniff_delimiter(sample, default),
        "encoding": encoding,
        "skipinitialspace": True,
    }


def _parsing(path: Path, read: Callable[[], T]) -> T:
    """read(), with pandas' parsing errors turned into one DataError that names the file."""
    try:
        return read()
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
