"""The Inspect screen on real, tiny trainings: kernels, feature maps, a linear unit's w and b, the playground."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import layerlab.core.inspect
import numpy as np
import pytest
from layerlab.core.checkpoint import Weights
from layerlab.core.handle import SessionRun
from layerlab.core.session import TrainingSession
from layerlab.core.spec import CompileSpec, DataSpec, FitSpec, LayerSpec, Spec
from layerlab.screens.inspect import InspectScreen
from layerlab.screens.inspect_kernels import KernelsView
from layerlab.screens.inspect_maps import FeatureMapsView
from layerlab.screens.inspect_playground import PlaygroundView
from layerlab.screens.inspect_text import prediction_text
from layerlab.tui.widgets.heatmap import Heatmap
from layerlab.tui.widgets.inspect_grid import ChannelGrid
from layerlab.tui.widgets.kernel_grid import KernelGrid
from layerlab.tui.workspace import Change
from PIL import Image as PILImage
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Select, Static

from tests.conftest_app import make_app, settle, text_of, write_spec

INSPECT_GROUPS = ("inspect-kernels", "inspect-maps", "inspect-playground", "inspect-run")


def convnet_spec(epochs: int = 2) -> Spec:
    """A tiny convolutional classifier on the 8×8 digits: 4 filters of 3×3, pooling, a dense head."""
    return Spec(
        name="tiny_convnet",
        data=DataSpec(name="digits"),
        layers=[
            LayerSpec(
                "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}
            ),
            LayerSpec("MaxPool2D", {"pool_size": 2}),
            LayerSpec("Flatten", {}),
            LayerSpec("Dense", {"units": 10, "activation": "softmax"}),
        ],
        fit=FitSpec(batch_size=64, epochs=epochs),
    )


def linear_spec() -> Spec:
    """The course's single neuron: Dense(1) on the `linear` data set."""
    return Spec(
        name="linear_unit",
        data=DataSpec(name="linear", features_scale="none"),
        layers=[LayerSpec("Dense", {"units": 1})],
        compile=CompileSpec(optimizer="sgd", learning_rate=0.05, loss="mse"),
        fit=FitSpec(batch_size=16, epochs=25),
    )


def trained(spec: Spec) -> TrainingSession:
    """Train `spec` to the end, headless, as the Train screen's session would."""
    session = TrainingSession(spec, write_run=False)
    result = session.run()
    assert session.state == "finished", result
    return session


@pytest.fixture(scope="module")
def convnet() -> TrainingSession:
    return trained(convnet_spec())


async def wait_inspect(pilot) -> None:
    """Wait until no Inspect worker is pending or running and what they posted has been shown."""
    app = pilot.app

    def busy() -> list:
        return [w for w in app.workers if w.group in INSPECT_GROUPS and not w.is_finished]

    for _ in range(200):
        if running := busy():
            await app.workers.wait_for_complete(running)
        await pilot.pause()
        if not busy():
            await pilot.pause()
            if not busy():
                return
    raise AssertionError("the Inspect workers did not finish")


async def open_inspect(pilot, session: TrainingSession | None = None) -> InspectScreen:
    """Settle, go to Inspect (5), and hand it a finished session as the Train screen would."""
    await settle(pilot)
    await pilot.press("5")
    screen = pilot.app.screen
    assert isinstance(screen, InspectScreen)
    if session is not None:  # a finished run of this process, as the Train screen leaves it
        run = SessionRun(session.spec)
        run.attach(session)
        run.take([session.result])
        pilot.app.current_run = run
        pilot.app.workspace.changed.publish(Change("run"))
    await wait_inspect(pilot)
    return screen


def heatmaps(grid: ChannelGrid) -> list[Heatmap]:
    return list(grid.query_children(Heatmap))


async def test_kernels_show_one_heatmap_per_filter_with_numbers(tmp_path, convnet):
    app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_inspect(pilot, convnet)
        await pilot.press("k")
        await wait_inspect(pilot)
        view = screen.query_one(KernelsView)
        kernel = layerlab.core.inspect.conv_kernels(convnet.model)[0].kernel
        maps = heatmaps(view.grid)
        assert len(maps) == 4 == kernel.shape[-1]
        for number, heatmap in enumerate(maps):
            assert heatmap.title == f"filter {number + 1}"
            np.testing.assert_allclose(heatmap.data, kernel[:, :, 0, number])
        assert str(view.query_one("#kernels-page", Static).render()) == "filters 1–4 of 4"
        assert "training session, epoch 2" in str(view.query_one("#kernels-note", Static).render())
        numbers = view.query_one("#kernel-numbers", KernelGrid)
        assert numbers.display and not numbers.editable
        np.testing.assert_allclose(numbers.kernel, kernel[:, :, 0, 0])
        await pilot.press("right", "right")
        assert view.grid.selected == 2 and maps[2].has_class("-selected")
        np.testing.assert_allclose(numbers.kernel, kernel[:, :, 0, 2])
        # The Dense head is the next layer: its weights as a heatmap, a row per unit; no numbers.
        await pilot.press("greater_than_sign")
        assert view.query_one("#dense-weights", Heatmap).data.shape == (10, 64)
        assert not view.query_one("#dense-unit", Static).display


async def test_kernels_page_at_80x24(tmp_path, convnet):
    app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_inspect(pilot, convnet)
        view = screen.query_one(KernelsView)
        view.grid.per_page  # noqa: B018 - sized by now
        for heatmap in heatmaps(view.grid):
            region = heatmap.region
            assert region.bottom <= 22 and region.right <= 80, region
        assert view.query_one("#kernel-numbers", KernelGrid).region.bottom <= 22


async def test_feature_maps_and_prediction_for_a_sample(tmp_path, convnet):
    app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_inspect(pilot, convnet)
        await pilot.press("f")
        await wait_inspect(pilot)
        view = screen.query_one(FeatureMapsView)
        assert [m.type for m in view.maps] == ["Conv2D", "MaxPooling2D"]
        assert view.maps[0].maps.shape == (8, 8, 4) and view.maps[1].maps.shape == (4, 4, 4)
        assert len(heatmaps(view.grid)) == 4
        data = convnet.dataset
        prediction = text_of(view.query_one("#maps-prediction", Static))
        assert f"true      {data.class_names[int(data.y_valid[0])]}" in prediction
        assert "predicted" in prediction and "%" in prediction
        assert view.query_one("#maps-input").title == "sample 0"
        # + takes the next sample; the next layer (>) shows the pooled maps.
        await pilot.press("plus")
        await wait_inspect(pilot)
        assert view.query_one("#maps-input").title == "sample 1"
        assert f"true      {data.class_names[int(data.y_valid[1])]}" in text_of(
            view.query_one("#maps-prediction", Static)
        )
        await pilot.press("greater_than_sign")
        assert heatmaps(view.grid)[0].data.shape == (4, 4)
        # An image file goes through the model too, resized to its input; it has no true label.
        picture = tmp_path / "seven.png"
        PILImage.fromarray(np.uint8(data.raw_x_valid[0, :, :, 0] * 15)).resize((32, 32)).save(
            picture
        )
        view.query_one("#maps-file").value = str(picture)
        view.query_one("#maps-file").focus()
        await pilot.pause()
        await pilot.press("enter")
        await wait_inspect(pilot)
        assert view.query_one("#maps-input").title == "seven.png"
        assert "true      —" in text_of(view.query_one("#maps-prediction", Static))
        assert view.maps[0].maps.shape == (8, 8, 4)
        # A missing image file is said, and the last maps stay.
        view.query_one("#maps-file").value = str(tmp_path / "nope.png")
        view.query_one("#maps-file").focus()
        await pilot.pause()
        await pilot.press("enter")
        await wait_inspect(pilot)
        assert "no such file" in str(view.query_one("#maps-error", Static).render())
        assert len(view.maps) == 2


async def test_epochs_refresh_the_kernels_without_flooding(tmp_path, monkeypatch):
    session = trained(convnet_spec(epochs=1))
    reads = []
    real = layerlab.core.inspect.conv_kernels
    monkeypatch.setattr(
        layerlab.core.inspect, "conv_kernels", lambda model: reads.append(1) or real(model)
    )
    app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_inspect(pilot, session)
        await pilot.press("k")
        await wait_inspect(pilot)
        view = screen.query_one(KernelsView)
        before = heatmaps(view.grid)[0].data.copy()
        data = session.dataset
        await asyncio.to_thread(
            session.model.fit, data.x_train, data.y_train, epochs=3, batch_size=32, verbose=0
        )
        # The training thread hands its weights over at each epoch's end.
        session.control.latest_weights = Weights(4, session.model.get_weights())
        reads.clear()
        for _ in range(20):  # a fast training's burst of epochs
            app.workspace.changed.publish(Change("epoch"))
        deadline = time.monotonic() + 5
        while len(reads) < 1 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.7)
        await wait_inspect(pilot)
        assert 1 <= len(reads) <= 2
        after = heatmaps(view.grid)[0].data
        assert not np.allclose(before, after)
        np.testing.assert_allclose(after, real(session.model)[0].kernel[:, :, 0, 0])
        assert "epoch 4" in str(view.query_one("#kernels-note", Static).render())


async def test_linear_unit_reads_w_and_b_as_numbers(tmp_path):
    session = trained(linear_spec())
    app = make_app(write_spec(tmp_path, linear_spec(), "linear.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_inspect(pilot, session)
        view = screen.query_one(KernelsView)
        unit = layerlab.core.inspect.dense_weights(session.model)[0]
        text = text_of(view.query_one("#dense-unit", Static))
        assert f"w = {unit.w[0]:.4f}" in text and f"b = {unit.b:.4f}" in text
        assert "made with w = 2.5, b = 1" in text
        assert abs(unit.w[0] - 2.5) < 0.3
        assert not view.query_one("#kernels-conv").display
        # No conv layer, so no feature maps; the prediction is a value.
        await pilot.press("f")
        await wait_inspect(pilot)
        maps = screen.query_one(FeatureMapsView)
        assert maps.maps == [] and "predicted" in maps.prediction
        assert "no Conv2D" in str(maps.query_one("#maps-none", Static).render())


async def test_without_a_model_kernels_say_train_first(tmp_path):
    app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_inspect(pilot)
        notes = []
        app.notify = lambda message, **_: notes.append(message)
        await pilot.press("k")
        assert "train a model first (t)" in str(screen.query_one("#kernels-empty", Static).render())
        await pilot.press("m")  # no run folder yet: said, nothing breaks
        await wait_inspect(pilot)
        assert any("no run under" in note for note in notes)


async def test_playground_circle_bottom_sobel(tmp_path):
    app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_inspect(pilot)
        assert screen.active == "playground"  # nothing trained yet
        view = screen.query_one(PlaygroundView)
        panels = list(view.query_one("#play-panels").query_children(Heatmap))
        assert [p.title for p in panels] == [
            "Input 64×64",
            "Filter 64×64",
            "Detect relu 64×64",
            "Condense 32×32",
        ]
        assert panels[3].data.shape == (32, 32)
        assert panels[1].value_range == (-4.0, 4.0) and panels[2].value_range == (0.0, 4.0)
        good = view.extraction
        # A bad kernel is said, and the last good panels stay.
        view.query_one("#play-typed").focus()
        await pilot.pause()
        await pilot.press("ctrl+u", *"1 2; x", "enter")
        await wait_inspect(pilot)
        assert "kernel row 2 ('x') holds something that is not a number" in view.error
        assert "last good result" in str(view.query_one("#play-status", Static).render())
        assert view.extraction is good
        # A typed kernel larger than the picture, with valid padding.
        view.query_one("#play-padding", Select).value = "valid"
        view.query_one("#play-typed").value = "; ".join(["1 " * 70] * 70)
        await pilot.press("enter")
        await wait_inspect(pilot)
        assert "larger than the 64×64 picture" in view.error and view.extraction is good
        # A good typed 2×2 kernel becomes the custom kernel.
        await pilot.press("end", "ctrl+u", *"1 0; 0 -1", "enter")
        await wait_inspect(pilot)
        assert view.error == "" and view.query_one("#play-preset", Select).value == "custom"
        assert panels[1].data.shape == (63, 63) and panels[3].data.shape == (32, 32)
        # Editing a cell of the kernel grid recomputes.
        grid = view.query_one("#play-kernel", KernelGrid)
        grid.focus()
        await pilot.pause()
        await pilot.press("5", "enter")
        await wait_inspect(pilot)
        np.testing.assert_allclose(view.kernel, [[5, 0], [0, -1]])
        np.testing.assert_allclose(
            view.extraction.filtered[0, 0], 5 * good.input[0, 0] - good.input[1, 1]
        )


class GridApp(App):
    def compose(self) -> ComposeResult:
        yield ChannelGrid(label="map", cell=(16, 5))


async def test_channel_grid_pages_follow_its_size_and_the_keys():
    async with GridApp().run_test(size=(40, 10)) as pilot:
        grid = pilot.app.query_one(ChannelGrid)
        grid.stack = np.arange(8 * 8 * 10, dtype=float).reshape(8, 8, 10)
        grid.focus()
        await pilot.pause()
        await pilot.pause()
        assert grid.per_page == 4 and grid.caption == "maps 1–4 of 10 · page 1/3"
        assert [h.title for h in heatmaps(grid)] == ["map 1", "map 2", "map 3", "map 4"]
        await pilot.press("pagedown")
        assert grid.selected == 4 and grid.caption == "maps 5–8 of 10 · page 2/3"
        await pilot.press("right", "down", "pagedown")
        assert grid.selected == 9 and [h.title for h in heatmaps(grid)] == ["map 9", "map 10"]
        assert heatmaps(grid)[1].has_class("-selected")
        np.testing.assert_allclose(heatmaps(grid)[1].data, grid.stack[..., 9])
        await pilot.press("pageup", "left")
        assert grid.selected == 4
        grid.stack = grid.stack[..., :3]  # fewer channels: the selection stays in range
        await pilot.pause()
        assert grid.selected == 2 and grid.caption == "maps 1–3 of 3"


def words(markup: str) -> str:
    return Text.from_markup(markup).plain


def test_prediction_words_for_each_task():
    binary = SimpleNamespace(task="binary", class_names=["horizontal", "vertical"])
    text = words(prediction_text(np.array([0.9]), binary, 1))
    assert "predicted vertical" in text and "true      vertical" in text and "90.0%" in text
    multi = SimpleNamespace(task="multiclass", class_names=["a", "b", "c"])
    logits = words(prediction_text(np.array([2.0, -1.0, 0.5]), multi, 2))
    assert "predicted a" in logits and "✗" in logits and "from the raw outputs" in logits
    regression = SimpleNamespace(task="regression", class_names=[], target_scaler=None)
    assert words(prediction_text(np.array([7.25]), regression, np.float32(7.5))).split() == [
        "predicted",
        "7.25",
        "true",
        "7.5",
    ]
    assert "true      —" in words(prediction_text(np.array([0.2, 0.3, 0.5]), multi, None))


def test_snapshot_playground_80x24(tmp_path, snap_compare):
    """The playground at 80×24: circle through bottom sobel, relu and max pooling."""
    app = make_app(write_spec(tmp_path, convnet_spec(), "tiny.toml"))

    async def run_before(pilot) -> None:
        await open_inspect(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
