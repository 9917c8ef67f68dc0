"""The builder driven with the keyboard: palette, layer form, moving, undo, settings, save and reopen."""

from __future__ import annotations

from layerlab.core import spec as specs
from layerlab.core.catalog import LAYERS
from layerlab.core.spec import DataSpec
from layerlab.screens.build import BuildScreen
from layerlab.screens.layer_form import LayerForm
from layerlab.screens.palette import LayerPalette
from layerlab.tui.dialogs import PathDialog
from layerlab.tui.widgets.layer_table import LayerTable
from textual.widgets import Input, OptionList, Select, Static

from tests.conftest_app import layer_types, make_app, settle, write_spec


async def _add(pilot, type_name: str) -> None:
    await pilot.press("a")
    assert isinstance(pilot.app.screen, LayerPalette)
    await pilot.press(*type_name.lower(), "enter")
    await pilot.pause()


async def _type_into(pilot, text: str) -> None:
    await pilot.press("ctrl+u", *text)


async def test_palette_adds_every_layer_type_below_the_cursor(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, BuildScreen)
        table = app.screen.query_one(LayerTable)
        table.move_cursor(row=2)
        for name in LAYERS:
            await _add(pilot, name)
        assert layer_types(app) == ["Dense", "Dense", "Dense", *LAYERS]
        assert table.cursor_row == len(app.workspace.spec.layers) - 1
        # Each layer starts with its key parameters at the catalog's defaults.
        assert app.workspace.spec.layers[3].params == {"units": 32, "activation": "linear"}
        assert app.workspace.spec.layers[7].params == {
            "filters": 16,
            "kernel_size": 3,
            "activation": "relu",
        }
        # Enter inserts below the cursor, not at the end.
        table.move_cursor(row=0)
        await _add(pilot, "Dropout")
        assert layer_types(app)[:2] == ["Dense", "Dropout"]
        await settle(pilot)
        # Conv2D cannot take the 30 tabular features: its row is marked, editing goes on.
        conv = layer_types(app).index("Conv2D")
        assert table.error_index == conv
        assert "Conv2D" in str(app.screen.query_one("#problems", Static).render())


async def test_palette_filters_as_you_type(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", *"pool")
        options = app.screen.query_one(OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert names == ["MaxPool2D", "AveragePooling2D", "GlobalAveragePooling2D"]
        await pilot.press("down", "enter")
        assert layer_types(app)[1] == "AveragePooling2D"
        await pilot.press("a", *"nothing like this", "enter")
        assert isinstance(app.screen, LayerPalette)  # nothing to pick: it stays open
        await pilot.press("escape")
        assert len(app.workspace.spec.layers) == 4


async def test_bad_value_is_refused_with_the_reason_and_the_spec_unchanged(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        before = app.workspace.spec.to_dict()
        await pilot.press("enter")
        form = app.screen
        assert isinstance(form, LayerForm)
        assert "linear units" in str(form.query_one("#layer-help", Static).render())
        await _type_into(pilot, "0")
        await pilot.press("enter")
        assert app.screen is form
        error = str(form.query_one("#error-units", Static).render())
        assert "too small" in error and "an integer >= 1" in error
        await _type_into(pilot, "ten")
        await pilot.press("enter")
        assert "expected an integer" in str(form.query_one("#error-units", Static).render())
        await pilot.press("escape")
        assert app.workspace.spec.to_dict() == before
        assert not app.workspace.dirty
        # A good value is taken, with a choice from a select.
        await pilot.press("enter")
        form = app.screen
        await _type_into(pilot, "64")
        form.query_one("#param-activation", Select).value = "tanh"
        await pilot.press("enter")
        assert app.workspace.spec.layers[0].params == {"units": 64, "activation": "tanh"}
        assert app.workspace.dirty
        await settle(pilot)
        assert app.workspace.report.rows[0].output_shape == (64,)


async def test_move_duplicate_delete_undo_redo(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        units = lambda: [layer.params.get("units") for layer in app.workspace.spec.layers]  # noqa: E731
        assert units() == [16, 8, 1]
        await pilot.press("J")
        assert units() == [8, 16, 1]
        await pilot.press("shift+down")
        assert units() == [8, 1, 16]
        await pilot.press("K", "shift+up")
        assert units() == [16, 8, 1]
        await pilot.press("y")
        assert units() == [16, 16, 8, 1]
        await pilot.press("x")
        assert units() == [16, 8, 1]
        await pilot.press("delete")
        assert units() == [16, 1]
        await pilot.press("u")
        assert units() == [16, 8, 1]
        await pilot.press("u")
        assert units() == [16, 16, 8, 1]
        await pilot.press("ctrl+r", "ctrl+r")
        assert units() == [16, 1]
        for _ in range(7):
            await pilot.press("u")
        assert units() == [16, 8, 1] and not app.workspace.dirty
        assert not app.workspace.can_undo
        await settle(pilot)
        assert [row.params for row in app.workspace.report.rows] == [496, 136, 9]


async def test_settings_are_checked_like_the_spec(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        screen.query_one("#set-learning_rate", Input).focus()
        await _type_into(pilot, "-1")
        await pilot.press("enter")
        error = str(screen.query_one("#err-learning_rate", Static).render())
        assert "too small" in error
        assert app.workspace.spec.compile.learning_rate == 0.001
        await _type_into(pilot, "0.01")
        await pilot.press("enter")
        assert app.workspace.spec.compile.learning_rate == 0.01
        screen.query_one("#set-metrics", Input).focus()
        await _type_into(pilot, "accuracy, bogus")
        await pilot.press("tab")
        assert "'bogus' is not allowed" in str(screen.query_one("#err-metrics", Static).render())
        assert app.workspace.spec.compile.metrics == ["auto"]
        screen.query_one("#set-batch_size", Input).focus()
        await _type_into(pilot, "2.5")
        await pilot.press("enter")
        assert "expected an integer" in str(screen.query_one("#err-batch_size", Static).render())
        screen.query_one("#set-early_stopping").focus()
        await pilot.press("space")
        assert app.workspace.spec.fit.early_stopping is None
        assert screen.query_one("#set-patience", Input).disabled
        await pilot.press("space")
        assert app.workspace.spec.fit.early_stopping.patience == 5
        screen.query_one("#set-loss", Select).value = "mse"
        await pilot.pause()
        assert app.workspace.spec.compile.loss == "mse"
        await settle(pilot)
        assert any("regression loss" in w for w in app.workspace.check.warnings)
        assert "regression loss" in str(screen.query_one("#problems", Static).render())
        screen.query_one(LayerTable).focus()
        await pilot.press("u")
        assert app.workspace.spec.compile.loss == "auto"
        assert screen.query_one("#set-loss", Select).value == "auto"


async def test_new_data_gives_the_head_its_task(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.workspace.set_data(DataSpec(name="iris"))
        await settle(pilot)
        assert app.workspace.dataset.task == "multiclass"
        assert app.workspace.spec.layers[-1].params == {"units": 3, "activation": "softmax"}
        assert app.workspace.check.loss == "sparse_categorical_crossentropy"
        app.workspace.set_data(DataSpec(name="diabetes"))
        await settle(pilot)
        assert app.workspace.spec.layers[-1].params == {"units": 1}
        assert app.workspace.check.loss == "mae" and not app.workspace.check.warnings
        await pilot.press("u")
        await settle(pilot)
        assert app.workspace.spec.layers[-1].params["activation"] == "softmax"


async def test_save_and_reopen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(None)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.workspace.path is None
        await pilot.press("J")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PathDialog)
        assert app.screen.query_one(Input).value == "./binary_classification.toml"
        await _type_into(pilot, "notes.txt")
        await pilot.press("enter")
        assert "ends in .toml" in str(app.screen.query_one("#path-error", Static).render())
        await _type_into(pilot, "mine.toml")
        await pilot.press("enter")
        await pilot.pause()
        saved = specs.load(tmp_path / "mine.toml")
        assert saved.to_dict() == app.workspace.spec.to_dict() and saved.name == "mine"
        assert not app.workspace.dirty and app.workspace.path.resolve() == tmp_path / "mine.toml"
        # Edit, then open another file: unsaved changes are asked about first.
        other = write_spec(tmp_path, name="other.toml")
        await pilot.press("y")
        await pilot.press("ctrl+o")
        await _type_into(pilot, "broken.toml")
        (tmp_path / "broken.toml").write_text("[[layers]]\ntype = 'Dense'\nunits = -3\n")
        await pilot.press("enter")
        assert "layers[0].units" in str(app.screen.query_one("#path-error", Static).render())
        await _type_into(pilot, "other.toml")
        await pilot.press("enter")
        await pilot.pause()
        assert "unsaved changes" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("s")
        await pilot.pause()
        assert app.workspace.path.resolve() == other
        assert len(specs.load(tmp_path / "mine.toml").layers) == 4
        assert app.workspace.spec.to_dict() == specs.load(other).to_dict()
    # A new session opens the last experiment.
    again = make_app(None)
    async with again.run_test(size=(100, 30)):
        assert again.workspace.path.resolve() == other


def test_snapshot_builder(tmp_path, snap_compare):
    """The builder at 100×30 with a three-layer dense model, shapes checked."""
    app = make_app(write_spec(tmp_path))

    async def run_before(pilot) -> None:
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_snapshot_builder_invalid_stack_80x24(tmp_path, snap_compare):
    """At 80×24: a Conv2D on tabular data, its row marked and the fix shown."""
    app = make_app(write_spec(tmp_path))

    async def run_before(pilot) -> None:
        await settle(pilot)
        await _add(pilot, "Conv2D")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_save_takes_the_value_being_typed(tmp_path):
    path = write_spec(tmp_path)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.query_one("#set-epochs", Input).focus()
        await _type_into(pilot, "7")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert specs.load(path).fit.epochs == 7 and not app.workspace.dirty
