"""The core knows no UI, and the light core modules load without Keras: checked in fresh interpreters."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import layerlab.core
import pytest

ROOT = Path(__file__).resolve().parents[1]
UI = ("textual", "textual_plotext", "plotext", "textual_image", "layerlab.tui", "layerlab.screens")
HEAVY = ("keras", "tensorflow", "jax", "torch")
LIGHT = (
    "layerlab",
    "layerlab.core.spec",
    "layerlab.core.events",
    "layerlab.core.runs",
    "layerlab.core.sweeps",
    "layerlab.core.catalog",
    "layerlab.core.examples",
    "layerlab.core.diagnosis",
    "layerlab.core.strategy",
    "layerlab.core.errors",
    "layerlab.core.words",
    "layerlab.core.files",
    "layerlab.core.runlog",
)


def loaded_after_import(module: str) -> set[str]:
    # Top-level names, and layerlab's own sub-packages (layerlab.tui, layerlab.screens) by name.
    code = (
        f"import json, sys; import {module}; "
        "print(json.dumps(sorted('.'.join(m.split('.')[:2 if m.startswith('layerlab.') else 1]) for m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(layerlab.core.__path__, "layerlab.core."))


def test_every_core_module_is_listed():
    assert {
        "layerlab.core.session",
        "layerlab.core.model",
        "layerlab.core.data",
        "layerlab.core.inspect",
        "layerlab.core.accel",
    } <= set(core_modules())


@pytest.mark.parametrize(
    "module",
    [
        "layerlab.core.session",
        "layerlab.core.cli",
        "layerlab.core.inspect",
        "layerlab.core.data",
        "layerlab.core.accel",
        "layerlab.core.playground",
    ],
)
def test_core_imports_no_ui(module):
    loaded = loaded_after_import(module)
    assert not loaded & set(UI), f"{module} pulled in {sorted(loaded & set(UI))}"


@pytest.mark.parametrize("module", LIGHT)
def test_light_core_modules_import_no_keras(module):
    loaded = loaded_after_import(module)
    assert not loaded & set(HEAVY + UI), f"{module} pulled in {sorted(loaded & set(HEAVY + UI))}"


def test_the_shell_loads_no_screen_until_one_is_shown():
    """tui imports no screen module: the registry imports each one when it is first shown."""
    loaded = loaded_after_import("layerlab.tui.app")
    assert "layerlab.screens" not in loaded and not loaded & set(HEAVY)
