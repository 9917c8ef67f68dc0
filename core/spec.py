"""The TOML experiment spec: dataclasses, load, validate and save, without Keras.

Specs are data, never evaluated. Every error names the file, the key path (``layers[3].units``)
and what would be accepted.
"""

from __future__ import annotations

import copy
import math
import os
import reprlib
import stat
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .catalog import ALIASES, LAYERS, MAX_SEED, RUN_BASE
from .errors import LayerlabError

TASKS = ("auto", "regression", "binary", "multiclass")
FEATURE_SCALES = ("standard", "minmax", "none")
TARGET_SCALES = ("none", "standard", "minmax")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw", "adagrad", "adadelta", "adamax", "nadam", "lion")
LOSSES = (
    "auto",
    "mae",
    "mse",
    "huber",
    "binary_crossentropy",
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
)
METRICS = (
    "auto",
    "mae",
    "mse",
    "rmse",
    "accuracy",
    "binary_accuracy",
    "sparse_categorical_accuracy",
    "auc",
    "precision",
    "recall",
)
DEVICES = ("auto", "cpu", "gpu", "tpu")
STRATEGIES = ("auto", "none", "mirrored", "tpu", "multi_worker")
MONITORS_HINT = "val_loss, loss, or val_<metric>"
MAX_EPOCHS = 100_000
MAX_REPLICAS = 64
MAX_LAYERS = 200
"""Far beyond any course model. Keras builds a stack in time that grows with the square of its
depth (800 Dense layers: 1.5 minutes), and near 1,000 its graph walk exceeds Python's recursion limit."""
MAX_SPEC_BYTES = 1 << 20
"""A spec is a page of TOML; anything larger is not one (or is /dev/zero)."""


class SpecError(LayerlabError):
    """A spec that cannot be used, located by file and key path.

    Attributes:
        where: The file (if any) and key path, e.g. "exp.toml: layers[2].units".
        problem: What is wrong and what would be accepted.
    """


@dataclass
class DataSpec:
    """Where the data comes from and how it is prepared."""

    path: str | None = None
    name: str | None = None
    target: str | None = None
    task: str = "auto"
    drop: list[str] = field(default_factory=list)
    valid_fraction: float = 0.3
    seed: int = 0
    features_scale: str = "standard"
    target_scale: str = "none"
    image_size: list[int] | None = None
    valid_path: str | None = None
    """A separate validation file or folder (the course's train/ and valid/ folders)."""
    classes: list[str] | None = None
    """The class order of a classification target (the first is 0); by default sorted."""
    stream: str | bool = "auto"
    """Stream the data in batches instead of loading it whole: True, False, or "auto" (when
    its float32 arrays would take more than a quarter of the free memory, or 2 GiB)."""

    def source(self) -> str:
        """A short name of the data source, for titles and run names."""
        if self.name:
            return self.name
        if self.path:
            return Path(self.path).stem or str(self.path)
        return "(no data)"


@dataclass
class LayerSpec:
    """One layer: its Keras type and the parameters the user set."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompileSpec:
    optimizer: str = "adam"
    learning_rate: float = 0.001
    loss: str = "auto"
    metrics: list[str] = field(default_factory=lambda: ["auto"])


@dataclass
class EarlyStoppingSpec:
    monitor: str = "val_loss"
    min_delta: float = 0.001
    patience: int = 10
    restore_best_weights: bool = True
    start_from_epoch: int = 0


@dataclass
class FitSpec:
    batch_size: int = 32
    epochs: int = 50
    early_stopping: EarlyStoppingSpec | None = None


@dataclass
class AcceleratorSpec:
    device: str = "auto"
    strategy: str = "auto"
    mixed_precision: bool = False
    replicas: int = 1
    """CPU replicas for strategy "mirrored" on device "cpu" (logical CPU devices); 1 elsewhere."""


@dataclass
class Spec:
    """One experiment."""

    name: str = "experiment"
    data: DataSpec = field(default_factory=DataSpec)
    layers: list[LayerSpec] = field(default_factory=list)
    compile: CompileSpec = field(default_factory=CompileSpec)
    fit: FitSpec = field(default_factory=FitSpec)
    accelerator: AcceleratorSpec = field(default_factory=AcceleratorSpec)
    base_dir: Path | None = field(default=None, compare=False, repr=False)
    """The folder relative data paths resolve against (the spec file's folder)."""

    def copy(self) -> Spec:
        return copy.deepcopy(self)

    def resolve(self, path: str | os.PathLike) -> Path:
        """A path the spec names, resolved against the spec file's folder (when it has one)."""
        resolved = Path(path).expanduser()
        if not resolved.is_absolute() and self.base_dir is not None:
            resolved = self.base_dir / resolved
        return resolved

    def data_path(self) -> Path | None:
        """The data path resolved against the spec file's folder."""
        return self.resolve(self.data.path) if self.data.path else None

    def valid_data_path(self) -> Path | None:
        """data.valid_path resolved against the spec file's folder."""
        return self.resolve(self.data.valid_path) if self.data.valid_path else None

    def with_paths_resolved(self) -> Spec:
        """A copy whose relative paths (data.path, a `run:` base) are absolute, for a copy of the
        spec kept elsewhere (a run folder's spec.toml) that must still find them."""
        ran = self.copy()
        data_path = ran.data_path()
        if data_path is not None:
            ran.data.path = str(data_path.resolve())
        valid_path = ran.valid_data_path()
        if valid_path is not None:
            ran.data.valid_path = str(valid_path.resolve())
        for layer in ran.layers:
            base = layer.params.get("base")
            if isinstance(base, str) and base.startswith(RUN_BASE):
                layer.params["base"] = RUN_BASE + str(self.resolve(base[len(RUN_BASE) :]).resolve())
        return ran

    def to_dict(self) -> dict[str, Any]:
        """The spec as TOML-ready data; defaults that mean "absent" are left out."""
        data = {k: v for k, v in asdict(self.data).items() if v is not None}
        if data.get("stream") == "auto":
            del data["stream"]  # the default, left unsaid
        out: dict[str, Any] = {"name": self.name, "data": data}
        out["layers"] = [{"type": layer.type, **layer.params} for layer in self.layers]
        out["compile"] = asdict(self.compile)
        fit: dict[str, Any] = {"batch_size": self.fit.batch_size, "epochs": self.fit.epochs}
        if self.fit.early_stopping is not None:
            fit["early_stopping"] = asdict(self.fit.early_stopping)
        out["fit"] = fit
        accelerator = asdict(self.accelerator)
        if accelerator["replicas"] == 1:  # the default: older specs and readers never see the key
            del accelerator["replicas"]
        out["accelerator"] = accelerator
        return out

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def summary(self) -> dict[str, Any]:
        """A few facts for the run_started event and titles."""
        return {
            "name": self.name,
            "data": self.data.source(),
            "layers": [layer.type for layer in self.layers],
            "optimizer": self.compile.optimizer,
            "learning_rate": self.compile.learning_rate,
            "loss": self.compile.loss,
            "batch_size": self.fit.batch_size,
            "epochs": self.fit.epochs,
            "early_stopping": self.fit.early_stopping is not None,
            "patience": self.fit.early_stopping.patience if self.fit.early_stopping else None,
            "min_delta": self.fit.early_stopping.min_delta if self.fit.early_stopping else None,
        }


# ---------------------------------------------------------------------------------------------
# Validation: one small checker per table, each raising SpecError with its key path.


class _Table:
    """Reads one TOML table, refusing unknown keys and wrong types with the key path."""

    def __init__(self, raw: Any, key: str, file: str | None):
        if not isinstance(raw, dict):
            raise SpecError(f"expected a table, got {_kind(raw)}", key, file)
        self.raw = dict(raw)
        self.key = key
        self.file = file

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def error(self, name: str, problem: str) -> SpecError:
        return SpecError(problem, self.path(name), self.file)

    def take(
        self,
        name: str,
        kind: type | tuple[type, ...],
        default: Any,
        *,
        choices=None,
        low=None,
        high=None,
        low_open=False,
        high_open=False,
    ) -> Any:
        if name not in self.raw:
            return default
        value = self.raw.pop(name)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(name, f"expected {_names(kinds)}, got {_shown(value)}")
        if not isinstance(value, kinds):
            raise self.error(name, f"expected {_names(kinds)}, got {_kind(value)} {_shown(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            # nan < low is False: without this, NaN and infinities would pass every range check.
            raise self.error(
                name,
                f"{value!r} is not allowed: expected a finite number{_bounds(low, high, low_open, high_open)}",
            )
        if choices is not None and value not in choices:
            raise self.error(
                name,
                f"{_shown(value)} is not allowed: expected one of {', '.join(map(repr, choices))}",
            )
        if low is not None and (value < low or (low_open and value == low)):
            raise self.error(
                name,
                f"{_shown(value)} is too small: expected{_bounds(low, high, low_open, high_open)}",
            )
        if high is not None and (value > high or (high_open and value == high)):
            raise self.error(
                name,
                f"{_shown(value)} is too large: expected{_bounds(low, high, low_open, high_open)}",
            )
        return value

    def take_str_list(self, name: str, default: list[str], choices=None) -> list[str]:
        if name not in self.raw:
            return list(default)
        value = self.raw.pop(name)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, f"expected a list of strings, got {_shown(value)}")
        for i, item in enumerate(value):
            if choices is not None and item not in choices:
                raise SpecError(
                    f"{item!r} is not allowed: expected one of {', '.join(map(repr, choices))}",
                    f"{self.path(name)}[{i}]",
                    self.file,
                )
        return value

    def done(self, allowed: list[str]) -> None:
        for name in self.raw:
            raise self.error(name, f"unknown key; this table takes {', '.join(allowed)}")


def _bounds(low, high, low_open: bool, high_open: bool) -> str:
    """The accepted range in words, e.g. " > 0 and <= 10" (empty when unbounded)."""
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {_num(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {_num(high)}")
    return " " + " and ".join(parts) if parts else ""


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist = 3, 80, 80, 8


def _shown(value: Any) -> str:
    """A value as a message quotes it: short, and safe for a 5,000-deep nested array."""
    return _REPR.repr(value)


def _names(kinds: tuple[type, ...]) -> str:
    words = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _data(raw: Any, file: str | None) -> DataSpec:
    t = _Table(raw, "data", file)
    spec = DataSpec(
        path=t.take("path", str, None),
        name=t.take("name", str, None),
        target=t.take("target", str, None),
        task=t.take("task", str, "auto", choices=TASKS),
        drop=t.take_str_list("drop", []),
        valid_fraction=t.take("valid_fraction", float, 0.3, low=0.0, high=0.9, high_open=False),
        seed=t.take("seed", int, 0, low=0, high=MAX_SEED),
        features_scale=t.take("features_scale", str, "standard", choices=FEATURE_SCALES),
        target_scale=t.take("target_scale", str, "none", choices=TARGET_SCALES),
    )
    if "image_size" in t.raw:
        size = t.raw.pop("image_size")
        if isinstance(size, int) and not isinstance(size, bool):
            size = [size, size]
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(
                isinstance(s, int) and not isinstance(s, bool) and 8 <= s <= 1024 for s in size
            )
        ):
            raise t.error(
                "image_size",
                f"expected [height, width], integers from 8 to 1024, got {_shown(size)}",
            )
        spec.image_size = size
    spec.valid_path = t.take("valid_path", str, None)
    if "classes" in t.raw:
        classes = t.take_str_list("classes", [])
        twice = sorted({c for c in classes if classes.count(c) > 1})
        if len(classes) < 2 or twice:
            why = f"{', '.join(map(repr, twice))} listed twice" if twice else "fewer than 2"
            raise t.error(
                "classes",
                f"expected the class labels in order, at least 2 and each once, e.g. "
                f'["bad", "good"] (the first is 0); got {why}',
            )
        spec.classes = classes
    if "stream" in t.raw:
        stream = t.raw.pop("stream")
        if not (isinstance(stream, bool) or stream == "auto"):
            raise t.error(
                "stream", f'expected true, false or "auto", got {_kind(stream)} {_shown(stream)}'
            )
        spec.stream = stream
    t.done(
        [
            "path",
            "name",
            "target",
            "task",
            "drop",
            "valid_fraction",
            "seed",
            "features_scale",
            "target_scale",
            "image_size",
            "valid_path",
            "classes",
            "stream",
        ]
    )
    if spec.path and spec.name:
        raise SpecError("give either path or name, not both", "data", file)
    if spec.target_scale != "none" and spec.task in ("binary", "multiclass"):
        raise SpecError(
            f"target_scale {spec.target_scale!r} only applies to regression; use 'none'",
            "data.target_scale",
            file,
        )
    return spec


def check_layer(raw: Any, key: str, file: str | None = None) -> LayerSpec:
    """Validate one layer table against the catalog."""
    if not isinstance(raw, dict):
        raise SpecError(f"expected a table with a 'type', got {_kind(raw)}", key, file)
    raw = dict(raw)
    type_name = raw.pop("type", None)
    if type_name is None:
        raise SpecError(f"missing 'type'; expected one of {', '.join(LAYERS)}", key, file)
    type_name = ALIASES.get(type_name, type_name)
    if type_name not in LAYERS:
        raise SpecError(
            f"unknown layer type {_shown(type_name)}; expected one of {', '.join(LAYERS)}",
            f"{key}.type",
            file,
        )
    kind = LAYERS[type_name]
    params: dict[str, Any] = {}
    known = {p.name: p for p in kind.params}
    for name, value in raw.items():
        if name not in known:
            takes = ", ".join(known) if known else "no parameters"
            raise SpecError(
                f"{type_name} has no parameter {name!r}; it takes {takes}", f"{key}.{name}", file
            )
        value, reason = known[name].check(value)
        if reason:
            raise SpecError(reason, f"{key}.{name}", file)
        params[name] = value
    return LayerSpec(type_name, params)


def _compile(raw: Any, file: str | None) -> CompileSpec:
    t = _Table(raw, "compile", file)
    spec = CompileSpec(
        optimizer=t.take("optimizer", str, "adam", choices=OPTIMIZERS),
        learning_rate=t.take("learning_rate", float, 0.001, low=0.0, low_open=True, high=10.0),
        loss=t.take("loss", str, "auto", choices=LOSSES),
        metrics=t.take_str_list("metrics", ["auto"], choices=METRICS),
    )
    t.done(["optimizer", "learning_rate", "loss", "metrics"])
    return spec


def _early(raw: Any, file: str | None) -> EarlyStoppingSpec:
    t = _Table(raw, "fit.early_stopping", file)
    spec = EarlyStoppingSpec(
        monitor=t.take("monitor", str, "val_loss"),
        min_delta=t.take("min_delta", float, 0.001, low=0.0),
        patience=t.take("patience", int, 10, low=0),
        restore_best_weights=t.take("restore_best_weights", bool, True),
        start_from_epoch=t.take("start_from_epoch", int, 0, low=0),
    )
    if not spec.monitor.replace("_", "").isalnum():
        raise t.error("monitor", f"{spec.monitor!r} is not a metric name; expected {MONITORS_HINT}")
    t.done(["monitor", "min_delta", "patience", "restore_best_weights", "start_from_epoch"])
    return spec


def _fit(raw: Any, file: str | None) -> FitSpec:
    t = _Table(raw, "fit", file)
    spec = FitSpec(
        batch_size=t.take("batch_size", int, 32, low=1, high=1 << 20),
        epochs=t.take("epochs", int, 50, low=1, high=MAX_EPOCHS),
    )
    if "early_stopping" in t.raw:
        value = t.raw.pop("early_stopping")
        if value is not False:
            spec.early_stopping = _early(value, file)
    t.done(["batch_size", "epochs", "early_stopping"])
    return spec


def _accelerator(raw: Any, file: str | None) -> AcceleratorSpec:
    t = _Table(raw, "accelerator", file)
    spec = AcceleratorSpec(
        device=t.take("device", str, "auto", choices=DEVICES),
        strategy=t.take("strategy", str, "auto", choices=STRATEGIES),
        mixed_precision=t.take("mixed_precision", bool, False),
        replicas=t.take("replicas", int, 1, low=1, high=MAX_REPLICAS),
    )
    t.done(["device", "strategy", "mixed_precision", "replicas"])
    return spec


def from_dict(
    raw: dict[str, Any], file: str | os.PathLike | None = None, base_dir: Path | None = None
) -> Spec:
    """Validate parsed TOML data into a Spec, or raise SpecError naming the key."""
    file = str(file) if file else None
    top = _Table(raw, "", file)
    name = top.take("name", str, Path(file).stem if file else "experiment")
    data = _data(top.raw.pop("data", {}), file)
    layers_raw = top.raw.pop("layers", [])
    if not isinstance(layers_raw, list):
        raise SpecError("expected an array of tables, written [[layers]]", "layers", file)
    if len(layers_raw) > MAX_LAYERS:
        raise SpecError(
            f"{len(layers_raw):,} layers are too many: a stack takes at most {MAX_LAYERS:,}",
            "layers",
            file,
        )
    layers = [check_layer(layer, f"layers[{i}]", file) for i, layer in enumerate(layers_raw)]
    spec = Spec(
        name=name,
        data=data,
        layers=layers,
        compile=_compile(top.raw.pop("compile", {}), file),
        fit=_fit(top.raw.pop("fit", {}), file),
        accelerator=_accelerator(top.raw.pop("accelerator", {}), file),
        base_dir=base_dir,
    )
    top.done(["name", "data", "layers", "compile", "fit", "accelerator"])
    if (
        spec.fit.early_stopping
        and spec.data.valid_fraction == 0
        and spec.fit.early_stopping.monitor.startswith("val_")
    ):
        raise SpecError(
            f"monitors {spec.fit.early_stopping.monitor!r} but data.valid_fraction is 0; keep a validation split or monitor 'loss'",
            "fit.early_stopping.monitor",
            file,
        )
    return spec


def loads(text: str, file: str | os.PathLike | None = None, base_dir: Path | None = None) -> Spec:
    """Parse and validate TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"not valid TOML: {exc}", "", file) from None
    except RecursionError:
        raise SpecError(_TOO_DEEP, "", file) from None
    except ValueError:  # tomllib's int() of a number with thousands of digits
        raise SpecError(
            "not valid TOML: a number has thousands of digits; no setting takes one that long",
            "",
            file,
        ) from None
    try:
        return from_dict(raw, file, base_dir)
    except RecursionError:
        raise SpecError(_TOO_DEEP, "", file) from None


_TOO_DEEP = "nests arrays or tables hundreds of levels deep; a spec is a few flat tables (see 'layerlab example')"


def load(path: str | os.PathLike) -> Spec:
    """Read a spec file; relative data paths resolve against its folder.

    Only a regular file of at most MAX_SPEC_BYTES is read: a named pipe would block the reader
    forever and a device such as /dev/zero never ends.
    """
    path = Path(path)
    return loads(_read_text(path), path, path.resolve().parent)


def _read_text(path: Path) -> str:
    try:
        _check_regular(os.stat(path), path)
        # O_NONBLOCK: had the file been swapped for a FIFO since the stat, open must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            _check_regular(os.fstat(handle.fileno()), path)
            data = handle.read(MAX_SPEC_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise SpecError("no such file", "", path) from None
    except OSError as exc:
        raise SpecError(f"cannot be read: {exc.strerror}", "", path) from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(_too_large(len(data)), "", path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("is not a text file; expected a TOML spec", "", path) from None


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(info: os.stat_result, path: Path) -> None:
    """Refuse anything but a regular file of sane size, before a byte of it is read."""
    if stat.S_ISDIR(info.st_mode):
        raise SpecError("is a folder, expected a .toml spec file", "", path)
    if not stat.S_ISREG(info.st_mode):
        kind = next(
            (word for test, word in _NOT_REGULAR if test(info.st_mode)), "not a regular file"
        )
        raise SpecError(f"is {kind}, not a file; expected a .toml spec file", "", path)
    if info.st_size > MAX_SPEC_BYTES:
        raise SpecError(_too_large(info.st_size), "", path)


def _too_large(size: int) -> str:
    return (
        f"is {size / (1 << 20):.1f} MiB; a spec file is at most {MAX_SPEC_BYTES >> 20} MiB of TOML"
    )


def save(spec: Spec, path: str | os.PathLike) -> Path:
    """Write the spec as TOML atomically: a crash mid-write leaves the old file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = spec.to_toml()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private; give it the mode a plain write would (or the old file's).
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def with_data_path(spec: Spec, data_path: str | os.PathLike) -> Spec:
    """A copy of the spec reading its data from `data_path` (the --data override)."""
    spec = spec.copy()
    spec.data.path = str(Path(data_path).expanduser().resolve())
    spec.data.name = None
    return spec
