"""Which experiment the app opens with: the SPEC given, else the last one, else a ready example."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layerlab.core import spec as specs
from layerlab.core.spec import DataSpec, EarlyStoppingSpec, FitSpec, LayerSpec, Spec
from layerlab.tui import state


@dataclass
class Start:
    """The spec to open, its file (None: not saved yet) and what to tell the user."""

    spec: Spec
    path: Path | None
    saved: bool = True
    error: str | None = None
    note: str | None = None


def builtin_example() -> Spec:
    """The first-use experiment: binary classification on breast_cancer, ready to train."""
    try:
        from layerlab.core.examples import example_path

        spec = specs.load(example_path("binary_classification"))
        spec.base_dir = None
        return spec
    except (ImportError, KeyError, specs.SpecError):
        pass
    relu = {"units": 16, "activation": "relu"}
    return Spec(
        name="binary_classification",
        data=DataSpec(name="breast_cancer"),
        layers=[
            LayerSpec("Dense", dict(relu)),
            LayerSpec("Dense", dict(relu)),
            LayerSpec("Dense", {"units": 1, "activation": "sigmoid"}),
        ],
        fit=FitSpec(batch_size=32, epochs=50, early_stopping=EarlyStoppingSpec(patience=10)),
    )


def choose(path: str | Path | None) -> Start:
    """Load the requested spec; on any failure fall back without losing the reason."""
    if path is not None:
        example = _example(str(path))
        if example is not None:
            return example
        path = Path(path)
        if not path.exists() and path.suffix == ".toml":
            spec = builtin_example()
            spec.name = path.stem
            note = f"{path} does not exist yet: starting from the example; ctrl+s writes it there."
            return Start(spec, path, saved=False, note=note)
        try:
            start = Start(specs.load(path), path)
        except specs.SpecError as exc:
            fallback = _fallback()
            fallback.error = (
                f"{exc.message}\nNothing was changed on disk; opened {_label(fallback)} instead."
            )
            return fallback
        state.remember_spec_path(path)
        return start
    return _fallback()


def following(run_dir: Path) -> Start:
    """`layerlab watch RUN_DIR`: the run's own spec, as a new spec (ctrl+s saves a copy).

    Then Inspect runs the data the run trains on through its model. A run without a readable
    spec (one a Keras script writes) leaves the experiment the app would open anyway.
    """
    try:
        spec = specs.load(Path(run_dir) / "spec.toml")
    except specs.SpecError:
        return _fallback()
    note = f"Following the run {Path(run_dir).name}; its spec is open (ctrl+s saves a copy)."
    return Start(spec, None, note=note)


def _example(given: str) -> Start | None:
    """`layerlab red_wine`: a shipped example by name, opened as a new spec (ctrl+s saves a copy)."""
    from layerlab.core.examples import example_path

    if Path(given).exists() or Path(given).suffix or "/" in given:
        return None
    try:
        found = example_path(given)
        spec = specs.load(found)
    except (KeyError, specs.SpecError):
        return None
    note = f"The {spec.name} example (its data ships with layerlab); ctrl+s saves your own copy."
    return Start(spec, None, saved=False, note=note)


def _fallback() -> Start:
    last = state.last_spec_path()
    if last is not None:
        try:
            return Start(specs.load(last), last)
        except specs.SpecError as exc:
            start = Start(builtin_example(), None)
            start.error = f"Could not reopen the last experiment: {exc.message}"
            return start
    return Start(
        builtin_example(), None, note="A ready example: binary classification on breast_cancer."
    )


def _label(start: Start) -> str:
    return str(start.path) if start.path else "the built-in example"
