"""The Data screen driven like a user: built-in, CSV, image-folder and keras: sources, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from layerlab.screens.data import DataScreen
from layerlab.screens.data_browse import BrowseDialog, DataTree
from layerlab.screens.data_preview import DataPreview
from layerlab.screens.data_source import DataSource
from textual import events
from textual.widgets import DataTable, Input, OptionList, ProgressBar, Select, SelectionList, Static

from tests.conftest_app import make_app, settle, text_of, write_spec

GROUPS = ("engine", "data", "check", "data-sets", "data-preview", "data-trial")


async def calm(pilot) -> None:
    """Wait until the data and engine workers are done and what they posted has been handled."""
    app = pilot.app

    def running() -> list:
        return [w for w in app.workers if w.group in GROUPS and w.is_running]

    for _ in range(100):
        busy = running()
        if busy:  # an empty list would wait for every worker, a big table's count included
            await app.workers.wait_for_complete(busy)
        await pilot.pause()
        if not running() and not app.workspace.status.busy:
            await pilot.pause()
            if not running():
                return
    raise AssertionError("the Data screen did not settle")


async def open_data(tmp_path: Path, pilot) -> DataScreen:
    await settle(pilot)
    await pilot.press("1")
    await calm(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DataScreen)
    return screen


async def type_path(pilot, screen: DataScreen, path: Path) -> None:
    """Type the path's last part after its folder, taking the completion where one is offered."""
    field = screen.query_one("#data-path", Input)
    field.focus()
    field.value = f"{path.parent}/"
    await pilot.press(*path.name[:3])
    await pilot.pause()
    await pilot.press("right")  # takes the completion, if the suggester found one
    if path.exists():
        assert field.value == str(path) + ("/" if path.is_dir() else "")
    else:
        await pilot.press(*path.name[3:])
    await pilot.press("enter")
    await calm(pilot)


def message(screen: DataScreen) -> str:
    return text_of(screen.query_one("#data-message", Static))


async def choose(pilot, select: Select, value: str) -> None:
    select.value = value
    await calm(pilot)


async def test_a_builtin_set_gives_the_head_its_task(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        sets = screen.query_one("#data-sets", OptionList)
        iris = sets.get_option("iris")
        assert str(iris.prompt).splitlines() == [
            "iris · multiclass",
            "150 × 4: three iris species, from 4 flower measurements (scikit-learn)",
        ]
        assert sets.get_option("keras:mnist") is not None
        sets.focus()
        sets.highlighted = sets.get_option_index("iris")
        await pilot.press("enter")
        await calm(pilot)
        assert app.workspace.spec.data.name == "iris"
        assert app.workspace.dataset.task == "multiclass"
        assert app.workspace.spec.layers[-1].params == {"units": 3, "activation": "softmax"}
        preview = screen.query_one(DataPreview)
        assert preview.preview.fixed_target == "species"
        assert screen.query_one("#data-rows", DataTable).row_count == 8
        assert "class balance of species" in str(screen.query_one("#data-balance").border_title)
        assert "multiclass" in message(screen) and "input (4,)" in message(screen)
        assert screen.query_one(
            "#data-target", Select
        ).disabled  # a built-in predicts its own column


async def test_a_csv_typed_in_is_previewed_and_its_target_chosen(tmp_path):
    csv = tmp_path / "fruit.csv"
    rows = [
        f"{i * 0.5},{i % 7},{'red' if i % 3 else 'green'},{'' if i == 4 else i * 2},{i % 2}"
        for i in range(40)
    ]
    csv.write_text("size,weight,color,price,ripe\n" + "\n".join(rows) + "\n")
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        before = app.workspace.spec.to_dict()
        await type_path(pilot, screen, csv)
        assert "Choose the target" in message(screen)
        assert app.workspace.spec.to_dict() == before  # nothing applied without a target
        preview = screen.query_one(DataPreview)
        assert preview.border_title == "Preview · fruit.csv · 40 rows × 5 columns"
        assert screen.query_one("#data-rows", DataTable).row_count == 8
        columns = screen.query_one("#data-columns", SelectionList)
        lines = [str(columns.get_option_at_index(i).prompt) for i in range(columns.option_count)]
        assert lines[0].split() == ["size", "float", "0", "0", "19.5", "9.75"]
        assert lines[2].split()[:3] == ["color", "text", "0"]
        assert lines[3].split()[:3] == ["price", "float", "1"]  # one missing value
        await choose(pilot, screen.query_one("#data-target", Select), "ripe")
        data = app.workspace.spec.data
        assert (data.path, data.target) == (str(csv), "ripe")
        assert app.workspace.dataset.task == "binary"
        assert "task (auto): ripe has 2 values (0, 1) → binary" in text_of(
            screen.query_one("#data-reason", Static)
        )
        assert "class balance of ripe" in str(screen.query_one("#data-balance").border_title)
        assert app.workspace.spec.layers[-1].params == {"units": 1, "activation": "sigmoid"}
        # Unchecking a column drops it; scaling and the split are choices too.
        columns.focus()
        columns.highlighted = 1
        await pilot.press("space")
        await calm(pilot)
        assert app.workspace.spec.data.drop == ["weight"]
        await choose(pilot, screen.query_one("#data-xscale", Select), "minmax")
        screen.query_one("#data-valid", Input).focus()
        await pilot.press("ctrl+u", *"0.25", "enter")
        await calm(pilot)
        data = app.workspace.spec.data
        assert (data.features_scale, data.valid_fraction) == ("minmax", 0.25)
        assert app.workspace.dataset.feature_names[:1] == ["size"]
        assert "training / 10 validation" in message(screen)


async def test_an_image_folder_shows_its_classes_and_samples(tmp_path):
    from PIL import Image

    folder = tmp_path / "shapes"
    for cls, colour in (("circle", (250, 200, 0)), ("square", (0, 120, 250))):
        (folder / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (10, 12), colour).save(folder / cls / f"{i}.png")
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        # Browse from the folder typed so far; u takes the highlighted folder.
        screen.query_one("#data-path", Input).value = f"{tmp_path}/"
        await pilot.press("ctrl+f")
        dialog = app.screen
        assert isinstance(dialog, BrowseDialog)
        tree = dialog.query_one(DataTree)
        for _ in range(100):  # the tree lists the folder in a worker of its own
            found = [n for n in tree.root.children if n.data is not None and n.data.path == folder]
            if found:
                break
            await pilot.pause(0.05)
        node = found[0]
        tree.move_cursor(node)
        await pilot.press("u")
        await calm(pilot)
        assert app.screen is screen
        preview = screen.query_one(DataPreview)
        assert preview.preview.classes == [("circle", 3), ("square", 3)]
        assert preview.border_title == "Preview · shapes/ · 6 images, 2 classes"
        assert len(screen.query("#data-samples Picture")) == 4
        assert app.workspace.spec.data.path == str(folder)
        assert app.workspace.dataset.input_shape == (12, 10, 3)
        assert "task (auto): 2 classes (circle, square) → binary" in text_of(
            screen.query_one("#data-reason", Static)
        )
        screen.query_one("#data-size", Input).focus()
        await pilot.press(*"16x20", "enter")
        await calm(pilot)
        assert app.workspace.spec.data.image_size == [16, 20]
        assert app.workspace.dataset.input_shape == (16, 20, 3)
        assert "input (16, 20, 3)" in message(screen)


async def test_a_keras_set_offline_says_so(tmp_path, monkeypatch):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        before = app.workspace.spec.to_dict()
        import keras

        def offline():
            raise Exception(
                "URL fetch failure on https://storage.googleapis.com/mnist.npz: None -- [Errno -3] Temporary failure in name resolution"
            )

        monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
        sets = screen.query_one("#data-sets", OptionList)
        sets.focus()
        sets.highlighted = sets.get_option_index("keras:mnist")
        await pilot.press("enter")
        await calm(pilot)
        assert "could not download mnist: no network?" in message(screen)
        assert "~/.keras/datasets" in message(screen)
        assert app.workspace.spec.to_dict() == before
        assert not screen.query_one("#data-download").display
        # While Keras downloads, the progress it prints drives the bar.
        source = screen.query_one(DataSource)
        source.start_download("keras:mnist")
        source.post_message(events.Print(" 4096/8192 ━━━━━━━━━━ 0s 0us/step"))
        await pilot.pause()
        bar = screen.query_one("#data-download-bar", ProgressBar)
        assert (bar.progress, bar.total) == (4096, 8192)
        source.stop_download()


@pytest.mark.parametrize("case", ["missing", "single", "empty"])
async def test_bad_sources_are_refused_and_the_spec_kept(tmp_path, case):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        before = app.workspace.spec.to_dict()
        if case == "missing":
            await type_path(pilot, screen, tmp_path / "nowhere.csv")
            assert "nowhere.csv: no such file" in message(screen)
        elif case == "empty":
            (tmp_path / "empty").mkdir()
            await type_path(pilot, screen, tmp_path / "empty")
            assert "has no class sub-folders" in message(screen)
        else:
            csv = tmp_path / "flat.csv"
            csv.write_text("x,y\n" + "\n".join(f"{i},1" for i in range(10)) + "\n")
            await type_path(pilot, screen, csv)
            await choose(pilot, screen.query_one("#data-target", Select), "y")
            assert "holds a single value (1)" in text_of(screen.query_one("#data-reason", Static))
            assert "Not applied" in message(screen) and "single value" in message(screen)
        assert app.workspace.spec.to_dict() == before
        assert app.workspace.status.data.phase == "loaded" and app.workspace.dataset is not None


async def test_the_course_red_wine_file_with_min_max_scaling(tmp_path, red_wine):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        await type_path(pilot, screen, red_wine)
        await choose(pilot, screen.query_one("#data-target", Select), "quality")
        assert "task (auto): quality has 6 integer values (3–8) → regression" in text_of(
            screen.query_one("#data-reason", Static)
        )
        assert "distribution of quality" in str(screen.query_one("#data-balance").border_title)
        await choose(pilot, screen.query_one("#data-xscale", Select), "minmax")
        await choose(pilot, screen.query_one("#data-yscale", Select), "minmax")
        data = app.workspace.spec.data
        assert (data.target, data.features_scale, data.target_scale) == (
            "quality",
            "minmax",
            "minmax",
        )
        dataset = app.workspace.dataset
        assert dataset.task == "regression" and dataset.input_shape == (11,)
        assert float(dataset.y_train.min()) == 0.0 and float(dataset.y_train.max()) == 1.0
        notes = text_of(screen.query_one("#data-notes", Static))
        assert (
            "features min-max scaled to 0–1" in notes and "target 'quality' min-max scaled" in notes
        )
        # Undo brings the previous choice back, on the spec and on the screen.
        await pilot.press("ctrl+z")
        await calm(pilot)
        assert app.workspace.spec.data.target_scale == "none"
        assert screen.query_one("#data-yscale", Select).value == "none"


async def test_a_binary_head_becomes_linear_for_regression(tmp_path, red_wine):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        await type_path(pilot, screen, red_wine)
        await choose(pilot, screen.query_one("#data-target", Select), "quality")
        assert app.workspace.dataset.task == "regression"
        assert app.workspace.spec.layers[-1].params == {"units": 1}
