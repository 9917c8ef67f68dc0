"""The Data screen on a big table: a preview of the first rows at once, its statistics marked as
estimates, then the exact figures from a reading of the whole file, chunk by chunk."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from layerlab.screens import data_facts, data_stats
from layerlab.screens.data_preview import DataPreview, ReadingBar
from textual.widgets import DataTable, Input, ProgressBar, Select, SelectionList, Static

from tests.conftest_app import make_app, text_of, write_spec
from tests.test_app_data import calm, choose, open_data, type_path

ROWS = 300_000
FIRST = 1000
"""The rows a preview reads; what comes after them is meant to change the figures."""


@pytest.fixture(scope="session")
def big_csv(tmp_path_factory) -> Path:
    """300,000 rows × 20 columns (about 40 MB): `row` counts up, `x0` has a cell missing every
    100 rows after the first 1,000, and `kind` is a or b there but a, b or c after."""
    rng = np.random.default_rng(0)
    block = [",".join(f"{v:.4f}" for v in row) for row in rng.normal(size=(FIRST, 18))]
    lines = ["row,x0," + ",".join(f"x{j}" for j in range(1, 18)) + ",kind"]
    for i in range(ROWS):
        cells = block[i % FIRST]
        if i >= FIRST and i % 100 == 0:
            cells = cells[cells.index(",") :]  # x0 left empty
        kind = "ab"[i % 2] if i < FIRST else "abc"[i % 3]
        lines.append(f"{i},{cells},{kind}")
    path = tmp_path_factory.mktemp("big") / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size >= data_facts.BIG_FILE
    return path


class Gate:
    """Holds the statistics worker before its first chunk and after it, until let go."""

    def __init__(self, monkeypatch) -> None:
        self.start, self.rest = threading.Event(), threading.Event()
        self.chunks = 0
        real = data_stats.table_chunks

        def held(path, rows, *args, **kwargs):
            self.start.wait(10)  # a failed test lets go soon
            for chunk in real(path, rows, *args, **kwargs):
                yield chunk
                self.chunks += 1
                self.rest.wait(10)

        monkeypatch.setattr(data_stats, "table_chunks", held)
        reads = self.reads = []
        read_table = data_facts.read_table

        def counted(path, rows=None):
            reads.append(rows)
            return read_table(path, rows=rows)

        monkeypatch.setattr(data_facts, "read_table", counted)


def column_lines(screen) -> dict[str, list[str]]:
    columns = screen.query_one("#data-columns", SelectionList)
    lines = [str(columns.get_option_at_index(i).prompt) for i in range(columns.option_count)]
    return {line.split()[0]: line.split()[1:] for line in lines}


async def test_a_big_csv_shows_estimates_first_then_the_exact_figures(
    tmp_path, big_csv, monkeypatch
):
    gate = Gate(monkeypatch)
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_data(tmp_path, pilot)
        await type_path(pilot, screen, big_csv)
        # The preview came from the first rows while the whole file is still being read.
        view = screen.query_one(DataPreview)
        assert gate.reads == [FIRST] and gate.chunks == 0
        assert screen.query_one("#data-rows", DataTable).row_count == 8
        assert str(view.border_title).startswith("Preview · big.csv · about ")
        summary = text_of(screen.query_one("#data-summary", Static))
        assert "Estimates from the first 1,000 of about" in summary
        assert screen.query_one(ReadingBar).display
        lines = column_lines(screen)
        assert lines["row"] == ["int", "0", "0", "999", "499.5"]
        assert lines["x0"][:2] == ["float", "0"]
        await choose(pilot, screen.query_one("#data-target", Select), "kind")
        assert app.workspace.spec.data.target == "kind"
        balance = screen.query_one("#data-balance")
        assert balance.border_title == "estimated balance of kind"
        assert view.preview.column("kind").bars == [("a", 500.0), ("b", 500.0)]
        # One chunk read: the bar shows how far.
        gate.start.set()
        bar = screen.query_one(ReadingBar).query_one(ProgressBar)
        for _ in range(200):
            await pilot.pause(0.02)
            if bar.progress:
                break
        assert 0 < bar.progress < 1 and "Estimates" in text_of(screen.query_one("#data-summary"))
        # All read: the exact figures replace the estimates.
        gate.rest.set()
        for _ in range(500):
            await pilot.pause(0.02)
            if not screen.query_one(ReadingBar).display:
                break
        await calm(pilot)
        assert view.border_title == f"Preview · big.csv · {ROWS:,} rows × 20 columns"
        summary = text_of(screen.query_one("#data-summary", Static))
        assert "Exact figures from all 300,000 rows" in summary and "Estimate" not in summary
        lines = column_lines(screen)
        assert lines["row"] == ["int", "0", "0", "3e+05", "1.5e+05"]
        assert lines["x0"][:2] == ["float", str((ROWS - FIRST) // 100)]
        assert balance.border_title == "class balance of kind"
        kinds = ["ab"[i % 2] if i < FIRST else "abc"[i % 3] for i in range(ROWS)]
        assert view.preview.column("kind").bars == [(k, float(kinds.count(k))) for k in "abc"]
        assert "3 text labels" in view.preview.column("kind").reason


def test_a_big_image_folder_is_listed_and_only_its_samples_decoded(tmp_path, monkeypatch):
    from PIL import Image

    folder = tmp_path / "photos"
    for cls, n in (("car", 3000), ("truck", 2000)):
        (folder / cls / "more").mkdir(parents=True)
        for i in range(2):  # the samples shown: the first two of each class
            Image.new("RGB", (16, 8), (200, 0, 0)).save(folder / cls / f"{i}.png")
        for i in range(2, n):  # not images at all: a listing must not open them
            (folder / cls / "more" / f"{i}.jpg").write_bytes(b"")
    decoded = []
    read_image = data_facts._read_image
    monkeypatch.setattr(data_facts, "_read_image", lambda p: decoded.append(p) or read_image(p))
    preview = data_facts.preview_folder(folder)
    assert preview.classes == [("car", 3000), ("truck", 2000)]
    assert preview.size == "5,000 images, 2 classes"
    assert [p.name for p in decoded] == ["0.png", "1.png"] * 2
    assert [name for name, _ in preview.samples] == ["car", "car", "truck", "truck"]


async def test_a_count_still_running_when_another_file_is_chosen_is_dropped(
    tmp_path, big_csv, monkeypatch
):
    gate = Gate(monkeypatch)
    small = tmp_path / "small.csv"
    small.write_text("a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(30)) + "\n")
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        await type_path(pilot, screen, big_csv)
        assert screen.query_one(ReadingBar).display
        field = screen.query_one("#data-path", Input)
        field.value = str(small)
        field.cursor_position = len(field.value)
        field.focus()
        await pilot.press("enter")
        await calm(pilot)
        gate.start.set()
        gate.rest.set()
        counting = [w for w in app.workers if w.group == "data-stats"]
        await app.workers.wait_for_complete(counting)
        await calm(pilot)
        view = screen.query_one(DataPreview)
        assert view.border_title == "Preview · small.csv · 30 rows × 2 columns"
        assert not screen.query_one(ReadingBar).display
        assert text_of(screen.query_one("#data-summary", Static)).strip() == ""
        assert column_lines(screen)["a"] == ["int", "0", "0", "29", "14.5"]


def test_a_trial_load_reports_progress_where_load_dataset_can():
    from layerlab.screens.data import _load

    told = []

    def old(spec):
        return "loaded"

    def new(spec, progress=None):
        progress(0.5)
        return "loaded"

    assert _load(old, None, told.append) == "loaded" and told == []
    assert _load(new, None, told.append) == "loaded" and told == [0.5]


def test_statistics_combined_across_chunks_match_the_whole_table(tmp_path, monkeypatch):
    import pandas as pd
    from layerlab.core.data import DataError

    csv = tmp_path / "t.csv"
    rows = [f"{i * 0.5},{'' if i % 7 == 0 else i % 4},{'xyz'[i % 3]}" for i in range(1, 101)]
    csv.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(data_stats, "CHUNK_ROWS", 30)
    told: list[float] = []
    stats = data_stats.read_stats(csv, told.append)
    whole = data_facts.preview_table(pd.read_csv(csv), "t.csv")
    exact = data_stats.with_stats(whole, stats)
    assert stats.rows == 100 and told[-1] == 1.0 and len(told) == 5
    for mine, theirs in zip(exact.columns, whole.columns, strict=True):
        assert (mine.kind, mine.missing, mine.task, mine.bars) == (
            theirs.kind,
            theirs.missing,
            theirs.task,
            theirs.bars,
        )
        assert mine.low == theirs.low and mine.high == theirs.high
        assert mine.mean == pytest.approx(theirs.mean)
    # A malformed line far into the file is an error that names the file.
    csv.write_text("a,b\n" + "1,2\n" * 100 + "1,2,3\n")
    with pytest.raises(DataError, match="t.csv"):
        data_stats.read_stats(csv, told.append)
