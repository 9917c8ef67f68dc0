"""Following runs in the app without F5: the Runs screen's rows grow as another process writes,
a killed writer reads "killed", enter opens a run on the Train screen; Inspect shows a followed
run's model.keras and loads it again when it is saved again."""

from __future__ import annotations

from layerlab.core import runs
from layerlab.core.follow import follow_runs
from layerlab.core.handle import FolderRun

from tests.conftest_app import write_spec
from tests.test_watch import Writer, quick_engine, shown_epochs, until, watch_app


def row(screen, name: str) -> dict[str, str]:
    """A run's cells in the list, by column (status, epochs, best…)."""
    table = screen.query_one("#runs-table")
    keys = [column.key.value for column in table.ordered_columns]
    return dict(zip(keys, map(str, table.get_row(name)), strict=True))


async def test_the_runs_screen_follows_a_run_as_it_is_written_and_opens_it(tmp_path):
    from layerlab.tui.app import LayerlabApp

    name = "20260101-120000-tiny"
    writer = Writer(runs.runs_root() / name)
    try:
        writer.epoch()
        app = LayerlabApp(write_spec(tmp_path), engine_probe=quick_engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("6")
            screen = app.screen
            await until(pilot, lambda: len(screen.records) == 1, "the run listed")
            assert (row(screen, name)["status"], row(screen, name)["epochs"]) == ("▶ running", "1")
            writer.epoch()
            writer.epoch()
            await until(
                pilot, lambda: row(screen, name)["epochs"] == "3", "three epochs, without F5"
            )
            writer.kill()
            await until(
                pilot, lambda: row(screen, name)["status"] == "killed", "killed, without F5"
            )
            shown = screen.active_bindings["enter"].binding  # in the footer
            assert (shown.action, shown.description, shown.show) == ("open_run", "Open", True)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.MODE == "train", "the Train screen")
            await until(pilot, lambda: shown_epochs(app) == 3, "its epochs on the Train screen")
            assert isinstance(app.current_run, FolderRun) and app.current_run.status == "killed"
    finally:
        writer.close()


def test_follow_runs_reads_again_only_when_a_run_changes(tmp_path):
    import threading

    stop = threading.Event()
    root = runs.runs_root()
    root.mkdir(parents=True)
    found = follow_runs(root, stop)
    assert next(found) == []
    writer = Writer(root / "20260101-120000-tiny")
    try:
        listed = next(found)
        assert [r.status for r in listed] == ["running"]
        writer.epoch()
        while len(listed[0].history) < 1:
            listed = next(found)
        writer.kill()
        while listed[0].status != "killed":
            listed = next(found)
    finally:
        stop.set()
        writer.close()


async def test_inspect_shows_the_followed_runs_model_and_loads_it_again_when_saved(tmp_path):
    import keras

    writer = Writer(runs.runs_root() / "20260101-120000-tiny")
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.save(writer.run_dir / "model.keras")
        writer.epoch()
        app = watch_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: shown_epochs(app) == 1, "the first epoch")
            await pilot.press("5")
            screen = app.screen
            await until(pilot, lambda: screen.source() is not None, "the saved model loaded")
            first = screen.source()
            assert "model.keras" in first.label and first.model.layers[-1].units == 3
            bigger = keras.Sequential(
                [keras.Input((4,)), keras.layers.Dense(5, activation="softmax")]
            )
            bigger.save(writer.run_dir / "model.keras")  # saved again, as at a new best epoch
            writer.epoch()
            await until(
                pilot,
                lambda: screen.source() is not None and screen.source().model.layers[-1].units == 5,
                "the model loaded again",
            )
    finally:
        writer.close()
