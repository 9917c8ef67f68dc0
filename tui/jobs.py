"""The engine's slow work, run only in thread workers: importing Keras, loading data, checking shapes.

Every heavy import (keras, tensorflow, pandas, scikit-learn, core.model, core.data) happens inside
these functions, never at module level, so the first screen paints before any of them loads.
Each function returns a plain result and never raises: a failure comes back as words.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from layerlab.core.errors import LayerlabError, log_failure
from layerlab.core.spec import LayerSpec, Spec

log = logging.getLogger("layerlab")
_CHECK_LOCK = threading.Lock()
"""One shape check at a time: Keras builds are not meant to race each other."""


@dataclass(frozen=True)
class EngineInfo:
    """What the loaded engine runs on."""

    backend: str
    devices: tuple[str, ...]
    """Short words per device kind, e.g. ("2 GPU",) or ("CPU, 2 cores",)."""
    seconds: float = 0.0
    machine: Any = None
    """core.accel's Machine (None if core.accel is missing or failed): for the Device screen."""

    @property
    def label(self) -> str:
        """The status bar's words (no timing, so screenshots stay stable)."""
        devices = ", ".join(self.devices) if self.devices else "no device found"
        return f"Keras on {self.backend} · {devices}"


def probe_engine() -> EngineInfo:
    """Import Keras and the model builder; say which backend and which devices it found."""
    started = time.perf_counter()
    import keras
    import layerlab.core.model  # noqa: F401  (warm the builder the shape checks use)

    backend = keras.backend.backend()
    machine = detect_machine()
    devices = tuple(machine_words(machine) if machine is not None else keras_devices())
    seconds = time.perf_counter() - started
    log.info(
        "Keras %s on %s loaded in %.2f s; devices: %s", keras.__version__, backend, seconds, devices
    )
    return EngineInfo(backend, devices, seconds, machine)


def detect_machine() -> Any:
    """core.accel.detect(), or None when it is missing or fails (the app starts regardless)."""
    try:
        from layerlab.core import accel

        return accel.detect()
    except Exception as exc:
        log_failure("looking for devices (core.accel.detect)", exc)
        return None


def machine_words(machine: Any) -> list[str]:
    """The accelerators first (GPU, TPU), else the CPU and its cores."""
    words = []
    if machine.gpus:
        words.append(f"{len(machine.gpus)} GPU" if len(machine.gpus) > 1 else "GPU")
    if machine.tpus:
        words.append(f"TPU, {len(machine.tpus)} cores")
    return words or [f"CPU, {machine.cpu_cores} cores" if machine.cpu_cores > 1 else "CPU"]


def keras_devices() -> list[str]:
    """Device kinds as Keras lists them, counted."""
    import keras

    try:
        found = keras.distribution.list_devices()
    except Exception as exc:
        log_failure("listing devices (keras.distribution.list_devices)", exc)
        return []
    counts: dict[str, int] = {}
    for device in found:
        kind = str(device).split(":")[0].upper() or "CPU"
        counts[kind] = counts.get(kind, 0) + 1
    return [f"{n} {kind}" if n > 1 else kind for kind, n in counts.items()]


@dataclass
class DataResult:
    """A data set loaded for a spec, or why it could not be."""

    dataset: Any = None
    error: str | None = None
    head: LayerSpec | None = None
    """The output layer the data set's task calls for (core.model.default_head)."""


def load_data(spec: Spec) -> DataResult:
    """Load the spec's data set (core.data) and the head its task calls for."""
    if not spec.data.name and not spec.data.path:
        return DataResult(error="no data chosen yet: press 1 for the Data screen")
    try:
        from layerlab.core.data import load_dataset
    except ImportError as exc:
        log_failure("importing the data loader", exc)
        return DataResult(error=f"the data loader is not available ({exc})")
    try:
        dataset = load_dataset(spec)
    except LayerlabError as exc:
        log_failure("loading the data", exc)
        return DataResult(error=exc.message)
    except Exception as exc:
        log_failure("loading the data", exc)
        return DataResult(error=f"could not load the data: {type(exc).__name__}: {exc}")
    try:
        from layerlab.core.model import default_head

        head = default_head(dataset.task, dataset.n_classes)
    except Exception:
        log.exception("default_head failed")
        head = None
    return DataResult(dataset, None, head)


@dataclass
class CheckResult:
    """What Keras says about the stack: shapes and counts, the loss and metrics used, warnings."""

    report: Any = None
    loss: str = ""
    metrics: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False
    """A newer check replaced this one before it started."""


def check_stack(spec: Spec, dataset: Any, cancelled=lambda: False) -> CheckResult:
    """Build the stack on the data's input shape through core.model.check."""
    with _CHECK_LOCK:
        if cancelled():
            return CheckResult(skipped=True)
        try:
            from layerlab.core import model

            report = model.check(spec.layers, tuple(dataset.input_shape))
            report.model = None  # the builder needs the rows, not the Keras model
            out = report.output_shape
            units = out[-1] if out is not None and len(out) == 1 else None
            loss = model.resolve_loss(spec.compile, dataset.task, units)
            metrics = model.resolve_metrics(spec.compile, dataset.task, units)
            warnings = (
                model.head_warnings(spec.layers, report, dataset.task, dataset.n_classes, loss)
                if report.ok
                else []
            )
            return CheckResult(report, loss, metrics, warnings)
        except Exception as exc:
            log_failure("the shape check", exc)
            return CheckResult(error=f"the shape check failed: {type(exc).__name__}: {exc}")
