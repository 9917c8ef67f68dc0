"""Snapshots of every screen at 80×24 and 120×40, with fixed data, grouped by screen.

Everything shown is fixed so the SVGs match on any machine: the engine reports a fixed device
(`fixed_engine`), the Device screen a fixed machine, the Train screen is fed fixed core events
instead of a live training, the Inspect screen gets fixed weights, and the Runs screen reads run
folders written here with fixed names, numbers and times. Cursors do not blink.

Snapshots of these screens that live beside their other tests are not repeated here:
Build at 80×24 (tests/test_app_builder.py, an invalid stack), the playground at 80×24
(tests/test_app_inspect.py), and Build and Help at 100×30.

Update with `python -m pytest tests/test_snapshots.py --snapshot-update -p no:xdist`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from layerlab.core import events
from layerlab.core import spec as specs
from layerlab.core.handle import SessionRun
from layerlab.core.runs import runs_root
from layerlab.core.spec import DataSpec, EarlyStoppingSpec, FitSpec, LayerSpec, Spec
from layerlab.core.strategy import Device, Machine
from layerlab.tui.app import LayerlabApp
from layerlab.tui.workspace import Change
from textual.widgets import Input, OptionList, TextArea

from tests.conftest_app import dense_spec, fixed_engine, make_app, settle, write_spec
from tests.test_app_inspect import convnet_spec

SMALL, LARGE = (80, 24), (120, 40)
SIZES = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "120x40"])


# -- helpers -----------------------------------------------------------------------------------


def no_cursor_blink(pilot) -> None:
    """Stop every text cursor blinking, so a snapshot does not depend on when it is taken."""
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    for widget in pilot.app.screen.query(TextArea):
        widget.cursor_blink = False


async def steady(pilot) -> None:
    """The last step before a snapshot: no blinking cursor, and the screen laid out once more.

    A text that shrinks while the screen is being laid out (the Inspect page caption, whose
    "· page 1/2" goes once the grid knows its size) can leave its neighbours at the sizes of the
    old text until something else asks for a layout; one more layout makes that deterministic.
    """
    no_cursor_blink(pilot)
    pilot.app.screen.refresh(layout=True)
    await pilot.pause()


async def idle(pilot, timeout: float = 60.0) -> None:
    """Wait until no worker of the app is pending or running, and what they posted is shown."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 2:
        busy = [w for w in app.workers if not w.is_finished]
        if busy:
            calm = 0
            await app.workers.wait_for_complete(busy)
        else:
            calm += 1
        await pilot.pause()
        assert time.monotonic() < deadline, f"workers still busy: {busy}"


async def show(pilot, key: str) -> None:
    """Settle the workspace, go to a screen by its number key, and wait for its workers."""
    await settle(pilot)
    await pilot.press(key)
    await idle(pilot)


def logs(epoch: int) -> dict[str, float]:
    """A fixed, plausible learning curve: training improves, validation turns after epoch 7."""
    loss = 0.08 + 0.6 * 0.72 ** (epoch - 1)
    val_loss = 0.14 + 0.55 * 0.7 ** (epoch - 1) + 0.012 * max(0, epoch - 7) ** 1.5
    return {
        "accuracy": round(1 - 0.9 * loss, 4),
        "loss": round(loss, 4),
        "val_accuracy": round(1 - 0.85 * val_loss, 4),
        "val_loss": round(val_loss, 4),
    }


def best_epoch(upto: int) -> int:
    return min(range(1, upto + 1), key=lambda e: logs(e)["val_loss"])


def epoch_events(spec: Spec, run_dir: str, epochs: int, patience: int = 0) -> list[events.Event]:
    """RunStarted and `epochs` finished epochs of `spec`, with fixed numbers and seconds."""
    gathered: list[events.Event] = [
        events.RunStarted(run_dir, spec.summary(), spec.fit.epochs, 13, 398, 171, 0)
    ]
    for epoch in range(1, epochs + 1):
        best = best_epoch(epoch)
        gathered += [
            events.EpochStarted(epoch),
            events.EpochEnded(
                epoch, logs(epoch), 0.5 if epoch > 1 else 1.5, best, epoch - best, patience
            ),
        ]
    return gathered


# -- Build -------------------------------------------------------------------------------------


class TestBuild:
    def test_build_120x40(self, tmp_path, snap_compare):
        """Three Dense layers on breast_cancer, shapes checked: the table, summary and settings."""
        app = make_app(write_spec(tmp_path))

        async def run_before(pilot) -> None:
            await settle(pilot)
            await steady(pilot)

        assert snap_compare(app, terminal_size=LARGE, run_before=run_before)


# -- Data --------------------------------------------------------------------------------------


class TestData:
    @SIZES
    def test_data(self, tmp_path, snap_compare, size):
        """The built-in breast_cancer set in use: source, choices and its preview."""
        app = make_app(write_spec(tmp_path))

        async def run_before(pilot) -> None:
            await show(pilot, "1")
            # The preview sizes its column list once, when the data arrives: if that is before the
            # screen's final layout, the names are cut narrower (a race in the app, not a choice).
            # f5 reads the same data again, now into the final layout, so the snapshot is stable.
            await pilot.press("f5")
            await idle(pilot)
            assert not pilot.app.workspace.dirty
            # The list of data sets scrolls to the one in use when it is filled, by as much as its
            # height then asks (the same race): scroll it as it would from the top in its final size.
            sets = pilot.app.screen.query_one("#data-sets", OptionList)
            sets.scroll_home(animate=False, immediate=True)
            sets.scroll_to_highlight()
            await pilot.pause()
            await steady(pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- Device ------------------------------------------------------------------------------------

MACHINE = Machine(
    "tensorflow",
    ["tensorflow"],
    "Fixed Test CPU @ 3.00GHz",
    8,
    [Device("cpu", "Fixed Test CPU @ 3.00GHz")],
)
"""A CPU-only machine, the same wherever the tests run."""


def fixed_machine_engine():
    return dataclasses.replace(fixed_engine(), devices=("CPU, 8 cores",), machine=MACHINE)


class TestDevice:
    @SIZES
    def test_device(self, tmp_path, snap_compare, size):
        """A fixed CPU-only machine: its facts, the plan for the next run, the accelerator choices."""
        app = LayerlabApp(write_spec(tmp_path), engine_probe=fixed_machine_engine)

        async def run_before(pilot) -> None:
            await show(pilot, "3")
            await steady(pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- Train -------------------------------------------------------------------------------------

TRAIN_DIR = "runs/20260101-120000-three_dense"


async def train_with(pilot, gathered: list[events.Event]) -> None:
    """Press t with the training thread left out, then feed the screen fixed core events."""
    from layerlab.screens.train import TrainScreen

    await settle(pilot)
    await pilot.press("4")
    screen = pilot.app.screen
    assert isinstance(screen, TrainScreen)
    tokens: list[int] = []

    def train(spec, dataset, run, *rest) -> None:
        """No live training: the events below are the run, sent with the token the worker gets."""
        tokens.append(run)

    screen._train = train
    await pilot.press("t")
    await pilot.pause()
    assert isinstance(pilot.app.current_run, SessionRun) and tokens
    screen.post_message(TrainScreen.EventsReceived(tuple(gathered), tokens[-1]))
    await pilot.pause()
    screen._flush(force=True)  # what the screen's next tick shows, now rather than within a second
    await pilot.pause()
    await steady(pilot)


class TestTrain:
    @SIZES
    def test_train_running(self, tmp_path, snap_compare, size):
        """Mid-run: 7 of 20 epochs done, the 8th at batch 6 of 13, curves, progress and log."""
        spec = dense_spec()
        app = make_app(write_spec(tmp_path, spec))
        gathered = epoch_events(spec, TRAIN_DIR, 7, patience=5)
        gathered += [events.EpochStarted(8)]
        gathered += [events.BatchEnded(8, batch, 13, 0.1 + 0.004 * batch) for batch in range(1, 7)]

        async def run_before(pilot) -> None:
            await train_with(pilot, gathered)
            assert pilot.app.training and pilot.app.current_run.status == "running"

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    @SIZES
    def test_train_finished(self, tmp_path, snap_compare, size):
        """After a run that early stopping ended at epoch 12, the weights restored to the best (8)."""
        spec = dense_spec()
        app = make_app(write_spec(tmp_path, spec))
        best = best_epoch(12)
        gathered = epoch_events(spec, TRAIN_DIR, 12, patience=5)
        gathered += [
            events.EarlyStopped(12, best, True, "val_loss", logs(best)["val_loss"]),
            events.Finished(12, best, logs(best), TRAIN_DIR, "early_stopping", 6.5),
        ]

        async def run_before(pilot) -> None:
            await train_with(pilot, gathered)
            assert not pilot.app.training and pilot.app.current_run.status == "early_stopping"

        assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- Inspect -----------------------------------------------------------------------------------


KERNELS = (
    np.array(
        [
            [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],  # bottom edges (sobel)
            [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],  # right edges (sobel)
            [[1, 2, 1], [2, 4, 2], [1, 2, 1]],  # blur
            [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],  # outline
        ],
        dtype="float32",
    )
    / np.array([4, 4, 16, 4], dtype="float32")[:, None, None]
)


def fixed_weights(model) -> list[np.ndarray]:
    """Weights that look the same on any machine: four classic kernels and a fixed dense head."""
    rng = np.random.default_rng(7)
    arrays = []
    for weight in model.get_weights():
        if weight.shape == (3, 3, 1, 4):
            arrays.append(KERNELS.transpose(1, 2, 0)[:, :, None, :])
        elif weight.ndim == 1:
            arrays.append(np.round(np.linspace(-0.2, 0.2, weight.shape[0]), 2).astype("float32"))
        else:
            arrays.append(np.round(rng.normal(0, 0.3, weight.shape), 2).astype("float32"))
    return arrays


async def inspect_trained(pilot, view: str) -> None:
    """Go to Inspect with a finished run of this process whose epoch-3 weights are fixed."""
    import layerlab.core.model
    from layerlab.core.checkpoint import Weights

    await show(pilot, "5")
    app = pilot.app
    spec = app.workspace.spec
    dataset = app.workspace.dataset
    model = layerlab.core.model.build(spec, tuple(dataset.input_shape), seed=0)
    import keras

    session = SimpleNamespace(
        model=model,
        model_config=keras.saving.serialize_keras_object(model),
        dataset=dataset,
        paused=False,
        control=SimpleNamespace(
            latest_weights=Weights(3, fixed_weights(model)), want_weights=False
        ),
    )
    run = SessionRun(spec)
    run.attach(session)
    run.take([events.Finished(3, 3, logs(3), TRAIN_DIR, "completed", 2.0)])
    app.current_run = run
    app.workspace.changed.publish(Change("run"))
    await idle(pilot)
    await pilot.press(view)
    await idle(pilot)
    await steady(pilot)


@pytest.fixture
def heatmap_input(monkeypatch):
    """The feature maps' input drawn as a heatmap, whichever tests ran before in this process.

    The Inspect screen draws it through textual-image when layerlab.tui.widgets.picture has been
    imported (the app imports it at start-up on a terminal with graphics; tests/test_heatmap.py
    imports it too), else as a heatmap: leave it out so the snapshot does not depend on the order.
    """
    monkeypatch.delitem(sys.modules, "layerlab.tui.widgets.picture", raising=False)


class TestInspect:
    @SIZES
    def test_kernels(self, tmp_path, snap_compare, size):
        """The Conv2D's four kernels (bottom sobel, right sobel, blur, outline) and the first's numbers."""
        app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))

        async def run_before(pilot) -> None:
            await inspect_trained(pilot, "k")

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    @SIZES
    def test_feature_maps(self, tmp_path, snap_compare, size, heatmap_input):
        """Sample 0 of the digits through the fixed kernels: the input, four maps, the prediction."""
        app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))

        async def run_before(pilot) -> None:
            await inspect_trained(pilot, "f")

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_playground_120x40(self, tmp_path, snap_compare):
        """No model yet: the playground's circle through bottom sobel, relu and max pooling."""
        app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))

        async def run_before(pilot) -> None:
            await show(pilot, "5")
            await steady(pilot)

        assert snap_compare(app, terminal_size=LARGE, run_before=run_before)


# -- Runs --------------------------------------------------------------------------------------


def wide_spec(name: str, *units: int, epochs: int = 15, early: bool = False) -> Spec:
    layers = [LayerSpec("Dense", {"units": n, "activation": "relu"}) for n in units]
    return Spec(
        name=name,
        data=DataSpec(name="breast_cancer"),
        layers=[*layers, LayerSpec("Dense", {"units": 1, "activation": "sigmoid"})],
        fit=FitSpec(
            batch_size=32,
            epochs=epochs,
            early_stopping=EarlyStoppingSpec(patience=5) if early else None,
        ),
    )


def write_run(folder: str, spec: Spec, epochs: int, shift: float, ending: str | None) -> None:
    """A run folder under RUNS as layerlab writes one, with fixed numbers; `ending` None: killed."""
    root = runs_root() / folder
    root.mkdir(parents=True)
    specs.save(spec, root / "spec.toml")
    rows = [
        {k: round(v + (shift if "loss" in k else -shift / 2), 4) for k, v in logs(e).items()}
        for e in range(1, epochs + 1)
    ]
    names = list(rows[0])
    history = ["epoch," + ",".join(names)] + [
        f"{e}," + ",".join(str(r[k]) for k in names) for e, r in enumerate(rows, 1)
    ]
    (root / "history.csv").write_text("\n".join(history) + "\n", encoding="utf-8")
    run_dir = f"runs/{folder}"
    best = min(range(1, epochs + 1), key=lambda e: rows[e - 1]["val_loss"])
    lines = [events.RunStarted(run_dir, spec.summary(), spec.fit.epochs, 13, 398, 171, 0)]
    for e, row in enumerate(rows, 1):
        lines += [
            events.EpochStarted(e),
            events.EpochEnded(
                e, row, 0.5, min(range(1, e + 1), key=lambda b: rows[b - 1]["val_loss"]), 0, 0
            ),
        ]
    if ending is not None:
        lines.append(
            events.Finished(epochs, best, rows[best - 1], run_dir, ending, 0.5 * epochs + 1.0)
        )
    (root / "events.jsonl").write_text(
        "".join(event.to_json() + "\n" for event in lines), encoding="utf-8"
    )


def write_runs() -> None:
    """Four runs of the capacity lesson: ran every epoch, early stopping, stopped, killed."""
    write_run("20260101-120000-wide", wide_spec("wide", 256), 15, 0.0, "completed")
    write_run(
        "20260101-121500-deep",
        wide_spec("deep", 16, 16, 16, early=True),
        12,
        0.03,
        "early_stopping",
    )
    write_run("20260101-113000-narrow", wide_spec("narrow", 2), 6, 0.12, "stopped")
    write_run("20260101-110000-first_try", wide_spec("first_try", 8), 3, 0.2, None)


def write_sweep() -> None:
    """The SGD lesson's sweep, learning rate × batch size, tagged as `layerlab sweep` tags runs."""
    grid = [(lr, bs) for lr in (0.001, 0.01) for bs in (32, 256)]
    for i, (lr, bs) in enumerate(grid):
        folder = f"20260102-09{i:02d}00-sgd-learning_rate{lr}-batch_size{bs}"
        write_run(folder, wide_spec("sgd", 16), 9 + i, 0.03 * i, "completed")
        settings = {"compile.learning_rate": lr, "fit.batch_size": bs}
        tag = {"name": "sgd-20260102-090000", "settings": settings, "seed": 0}
        (runs_root() / folder / "provenance.json").write_text(json.dumps({"sweep": tag}))


class TestRuns:
    @SIZES
    def test_runs(self, tmp_path, snap_compare, size):
        """Four fixed run folders, newest first; the newest's summary and val_loss curve."""
        write_runs()
        app = make_app(write_spec(tmp_path))

        async def run_before(pilot) -> None:
            await show(pilot, "6")
            assert len(pilot.app.screen.records) == 4
            await steady(pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_runs_compared_120x40(self, tmp_path, snap_compare):
        """The deep and the wide run marked with space: their val_loss curves on one plot."""
        write_runs()
        app = make_app(write_spec(tmp_path))

        async def run_before(pilot) -> None:
            await show(pilot, "6")
            await pilot.press("space", "down", "space")
            await pilot.pause()
            assert len(pilot.app.screen.marked) == 2
            await steady(pilot)

        assert snap_compare(app, terminal_size=LARGE, run_before=run_before)

    @SIZES
    def test_runs_sweep_overlaid(self, tmp_path, snap_compare, size):
        """A sweep's runs under their sweep, named by their settings; g overlays their curves."""
        write_runs()
        write_sweep()
        app = make_app(write_spec(tmp_path))

        async def run_before(pilot) -> None:
            await show(pilot, "6")
            await pilot.press("down", "g")
            await pilot.pause()
            assert len(pilot.app.screen.marked) == 4
            await steady(pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- Help --------------------------------------------------------------------------------------


class TestHelp:
    @SIZES
    def test_help(self, tmp_path, snap_compare, size):
        """? over the Build screen: every key, by where it works."""
        app = make_app(write_spec(tmp_path))

        async def run_before(pilot) -> None:
            await settle(pilot)
            await pilot.press("question_mark")
            await pilot.pause()
            await steady(pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)
