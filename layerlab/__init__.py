"""layerlab: build, train and look inside Keras models from a terminal, with the keyboard alone.

The public API resolves lazily, so `import layerlab` stays light (no Keras, no Textual):

    from layerlab import load_spec, TrainingSession
    session = TrainingSession(load_spec("red_wine.toml"))
    session.run()

A Keras script's own `model.fit` writes a run folder that `layerlab watch` follows:

    from layerlab import LayerlabCallback
    model.fit(x, y, epochs=50, validation_split=0.2, callbacks=[LayerlabCallback("runs")])
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _choose_backend() -> None:
    """TensorFlow is Keras' default backend; where it is not installed, the one that is.

    layerlab installs with any one backend (`layerlab[tensorflow]`, `[jax]`, `[torch]`), so a
    JAX-only GPU or TPU machine needs no KERAS_BACKEND. A backend the user chose is kept.
    """
    if os.environ.get("KERAS_BACKEND") or _installed("tensorflow"):
        return
    for name in ("jax", "torch"):
        if _installed(name):
            os.environ["KERAS_BACKEND"] = name
            return


_choose_backend()

try:
    __version__ = version("layerlab")
except PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0+unknown"

_PUBLIC = {
    "load_spec": ("layerlab.core.spec", "load"),
    "loads_spec": ("layerlab.core.spec", "loads"),
    "save_spec": ("layerlab.core.spec", "save"),
    "Spec": ("layerlab.core.spec", "Spec"),
    "SpecError": ("layerlab.core.spec", "SpecError"),
    "LayerlabError": ("layerlab.core.errors", "LayerlabError"),
    "TrainingSession": ("layerlab.core.session", "TrainingSession"),
    "load_dataset": ("layerlab.core.data", "load_dataset"),
    "LayerlabCallback": ("layerlab.core.keras_callback", "LayerlabCallback"),
    "events": ("layerlab.core.events", None),
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    try:
        module_name, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'layerlab' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
