"""Helpers for the app tests: a fixed spec on disk, a fast engine probe, and waiting for workers."""

from __future__ import annotations

import time
from pathlib import Path

from layerlab.core import spec as specs
from layerlab.core.spec import DataSpec, EarlyStoppingSpec, FitSpec, LayerSpec, Spec
from layerlab.tui.app import LayerlabApp
from layerlab.tui.jobs import EngineInfo

ENGINE_GROUPS = ("engine", "data", "check")


def fixed_engine() -> EngineInfo:
    """Import Keras for real, but report fixed devices so screenshots match on any machine."""
    import keras
    import layerlab.core.model  # noqa: F401

    return EngineInfo(keras.backend.backend(), ("CPU",))


def dense_spec(name: str = "three_dense") -> Spec:
    """Three Dense layers on breast_cancer: a small, quick binary classifier."""
    return Spec(
        name=name,
        data=DataSpec(name="breast_cancer"),
        layers=[
            LayerSpec("Dense", {"units": 16, "activation": "relu"}),
            LayerSpec("Dense", {"units": 8, "activation": "relu"}),
            LayerSpec("Dense", {"units": 1, "activation": "sigmoid"}),
        ],
        fit=FitSpec(batch_size=32, epochs=20, early_stopping=EarlyStoppingSpec(patience=5)),
    )


def write_spec(folder: Path, spec: Spec | None = None, name: str = "three_dense.toml") -> Path:
    path = folder / name
    specs.save(spec or dense_spec(path.stem), path)
    return path


def make_app(spec_path: Path | None = None) -> LayerlabApp:
    return LayerlabApp(spec_path, engine_probe=fixed_engine)


async def settle(pilot, timeout: float = 90.0) -> None:
    """Wait until Keras is loaded and no data load or shape check is on its way."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        running = [w for w in app.workers if w.group in ENGINE_GROUPS and w.is_running]
        if running:
            await app.workers.wait_for_complete(running)
        await pilot.pause()
        workspace = app.workspace
        if workspace.status.settled and not running:
            await pilot.pause()
            return
        if app.engine_status.startswith("✗"):
            raise AssertionError(f"the engine failed to load: {app.engine_status}")
        if time.monotonic() > deadline:
            raise AssertionError("the workspace did not settle")
        await pilot.pause(0.02)


def layer_types(app: LayerlabApp) -> list[str]:
    return [layer.type for layer in app.workspace.spec.layers]


def text_of(widget) -> str:
    """A Static's content as plain text (Rich tables included)."""
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()
