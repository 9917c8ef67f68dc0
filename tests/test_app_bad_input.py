"""Bad input in the app: nan and inf refused in every form, odd files refused by the open dialog,
untouched fields changing nothing, and damaged run folders listed on the Runs screen."""

from __future__ import annotations

import os

import pytest
from layerlab.core import spec as specs
from layerlab.core.events import Finished
from layerlab.core.spec import LayerSpec
from layerlab.screens.layer_form import LayerForm
from layerlab.tui.dialogs import PathDialog
from textual.widgets import DataTable, Input, Static

from tests.conftest_app import dense_spec, make_app, settle, text_of, write_spec
from tests.test_app_data import calm, message, open_data


async def type_into(pilot, field: Input, text: str, leave: str = "enter") -> None:
    field.focus()
    await pilot.press("ctrl+u", *text, leave)
    await pilot.pause()


def error_of(screen, name: str) -> str:
    return text_of(screen.query_one(f"#err-{name}", Static))


@pytest.mark.parametrize(
    ("field", "word", "says"),
    [
        ("learning_rate", "nan", "nan is not allowed: expected a finite number > 0 and <= 10"),
        ("learning_rate", "inf", "inf is not allowed: expected a finite number > 0 and <= 10"),
        ("valid_fraction", "nan", "nan is not allowed: expected a finite number >= 0 and <= 0.9"),
        ("min_delta", "-inf", "-inf is not allowed: expected a finite number >= 0"),
    ],
)
async def test_settings_refuse_nan_and_inf_and_add_no_undo_step(tmp_path, field, word, says):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        before = app.workspace.spec.to_dict()
        box = screen.query_one(f"#set-{field}", Input)
        await type_into(pilot, box, word)
        assert says in error_of(screen, field)
        # Leaving the refused value again and again changes nothing either.
        for _ in range(3):
            box.focus()
            await pilot.press("tab")
            await pilot.pause()
        assert app.workspace.spec.to_dict() == before
        assert not app.workspace.can_undo and not app.workspace.dirty
        assert says in error_of(screen, field)


async def test_leaving_untouched_fields_changes_nothing(tmp_path):
    spec = dense_spec()
    spec.compile.learning_rate = 0.0012345678  # more digits than a short display keeps
    spec.data.valid_fraction = 1 / 3
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        for name in ("learning_rate", "valid_fraction", "min_delta", "epochs"):
            screen.query_one(f"#set-{name}", Input).focus()
            await pilot.press("enter", "tab")  # submitted, then left
            await pilot.pause()
        assert app.workspace.spec.compile.learning_rate == 0.0012345678
        assert app.workspace.spec.data.valid_fraction == 1 / 3
        assert not app.workspace.can_undo and not app.workspace.dirty


async def test_layer_form_refuses_inf_and_an_untouched_form_changes_nothing(tmp_path):
    spec = dense_spec()
    spec.layers.insert(0, LayerSpec("Rescaling", {"scale": 1 / 255, "offset": 0.0}))
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        before = app.workspace.spec.to_dict()
        await pilot.press("enter")
        form = app.screen
        assert isinstance(form, LayerForm)
        await type_into(pilot, form.query_one("#param-scale", Input), "inf")
        assert app.screen is form
        assert "inf is not a finite number" in text_of(form.query_one("#error-scale", Static))
        await type_into(pilot, form.query_one("#param-offset", Input), "nan")
        assert "nan is not a finite number" in text_of(form.query_one("#error-offset", Static))
        await pilot.press("escape")
        assert app.workspace.spec.to_dict() == before and not app.workspace.can_undo
        # Opened and applied without a change: 1/255 reads back exactly, so no edit is made.
        await pilot.press("enter")
        assert isinstance(app.screen, LayerForm)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, LayerForm)
        assert app.workspace.spec.layers[0].params["scale"] == 1 / 255
        assert not app.workspace.can_undo and not app.workspace.dirty


async def test_data_screen_refuses_a_nan_validation_fraction(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_data(tmp_path, pilot)
        before = app.workspace.spec.to_dict()
        await type_into(pilot, screen.query_one("#data-valid", Input), "nan")
        await calm(pilot)
        assert "data.valid_fraction: nan is not allowed: expected a finite number" in message(
            screen
        )
        screen.query_one("#data-valid", Input).focus()
        await pilot.press("tab")
        await calm(pilot)
        assert app.workspace.spec.to_dict() == before
        assert not app.workspace.can_undo and not app.workspace.dirty


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
async def test_open_dialog_refuses_odd_files_and_keeps_the_unsaved_spec(tmp_path):
    app = make_app(write_spec(tmp_path))
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("y")  # an unsaved edit: a duplicated layer
        edited = app.workspace.spec.to_dict()
        assert app.workspace.dirty
        await pilot.press("ctrl+o")
        dialog = app.screen
        assert isinstance(dialog, PathDialog)
        for path, says in (
            (fifo, "is a named pipe, not a file"),
            (deep, "levels deep"),
            ("/dev/zero", "is a device"),
        ):
            await type_into(pilot, dialog.query_one(Input), str(path))
            assert says in text_of(dialog.query_one("#path-error", Static))
            assert app.screen is dialog
        await pilot.press("escape")
        await pilot.pause()
        assert app.workspace.spec.to_dict() == edited and app.workspace.dirty


async def test_runs_screen_lists_a_damaged_run_with_its_reason(tmp_path):
    root = tmp_path / "runs"
    good = root / "20240101-000001-good"
    broken = root / "20240101-000002-broken"
    for folder in (good, broken):
        folder.mkdir(parents=True)
        specs.save(specs.Spec(name=folder.name[16:]), folder / "spec.toml")
    (good / "history.csv").write_text("epoch,loss,val_loss\n1,0.9,1.0\n2,0.5,0.6\n")
    (good / "events.jsonl").write_text(
        Finished(2, 2, {"val_loss": 0.6}, str(good)).to_json() + "\n"
    )
    (broken / "history.csv").write_bytes(b"epoch,loss\n1,0.5\n\xff\xfe\n")
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        screen = app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one("#runs-table", DataTable)
        assert table.row_count == 2
        keys = [column.key.value for column in table.ordered_columns]
        cells = [dict(zip(keys, map(str, table.get_row_at(i)), strict=True)) for i in range(2)]
        rows = {row["name"].strip("● "): row for row in cells}
        assert rows["broken"]["status"] == "damaged"
        assert rows["good"]["status"] == "done" and rows["good"]["best"] == "0.6000"
        # The newest run (the damaged one) is highlighted: its summary says what is wrong, in full.
        summary = text_of(screen.query_one("#runs-summary", Static))
        assert "damaged: history.csv is not UTF-8 text: byte 17 cannot be decoded" in summary
        await pilot.press("down")
        await pilot.pause()
        assert "best: val_loss 0.6000" in text_of(screen.query_one("#runs-summary", Static))
