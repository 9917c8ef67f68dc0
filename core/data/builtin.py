"""The built-in data sets, made or loaded without a network: scikit-learn's bundled sets and
small generated ones (seeded, so every user gets the same rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data.base import DataError, Dataset
from ..data.images import image_dataset
from ..data.tabular import prepare_frame

if TYPE_CHECKING:
    from ..spec import DataSpec

LINEAR_W, LINEAR_B, LINEAR_NOISE = 2.5, 1.0, 0.1


@dataclass(frozen=True)
class BuiltinInfo:
    """What a built-in data set is, without loading it."""

    name: str
    description: str
    task: str
    samples: int
    input_shape: tuple[int, ...]


_INFO = {
    info.name: info
    for info in (
        BuiltinInfo(
            "linear",
            f"one feature, y = {LINEAR_W}·x + {LINEAR_B} plus small noise: a single neuron learns w and b",
            "regression",
            200,
            (1,),
        ),
        BuiltinInfo(
            "diabetes",
            "disease progression a year on, from 10 measurements (scikit-learn)",
            "regression",
            442,
            (10,),
        ),
        BuiltinInfo(
            "breast_cancer",
            "malignant or benign tumour, from 30 cell measurements (scikit-learn)",
            "binary",
            569,
            (30,),
        ),
        BuiltinInfo(
            "wine",
            "three wine cultivars, from 13 chemical measurements (scikit-learn)",
            "multiclass",
            178,
            (13,),
        ),
        BuiltinInfo(
            "iris",
            "three iris species, from 4 flower measurements (scikit-learn)",
            "multiclass",
            150,
            (4,),
        ),
        BuiltinInfo(
            "moons",
            "two interleaving half-moons, with noise (scikit-learn make_moons)",
            "binary",
            500,
            (2,),
        ),
        BuiltinInfo(
            "circles",
            "a small circle inside a large one, with noise (scikit-learn make_circles)",
            "binary",
            500,
            (2,),
        ),
        BuiltinInfo("spiral", "two interleaved spiral arms", "binary", 600, (2,)),
        BuiltinInfo(
            "xor", "points labelled by whether x1 and x2 have different signs", "binary", 400, (2,)
        ),
        BuiltinInfo(
            "digits", "8×8 hand-written digits 0–9 (scikit-learn)", "multiclass", 1797, (8, 8, 1)
        ),
        BuiltinInfo(
            "stripes", "16×16 images of horizontal or vertical lines", "binary", 400, (16, 16, 1)
        ),
    )
}


def builtin_names() -> list[str]:
    """The built-in data sets' names, in the order to show them."""
    return list(_INFO)


def describe_builtin(name: str) -> BuiltinInfo:
    """One line of facts about a built-in data set, without loading it."""
    if name not in _INFO:
        raise DataError(
            f"unknown built-in data set {name!r}; expected one of {', '.join(_INFO)}, or keras:mnist, keras:fashion_mnist, keras:cifar10"
        )
    return _INFO[name]


def load_builtin(name: str, data: DataSpec) -> Dataset:
    """A built-in data set, prepared as the spec's data table says."""
    info = describe_builtin(name)
    reason = f"{name} is a {info.task} data set: {info.description}"
    if name in ("digits", "stripes"):
        x, y, classes, pixel_max, target = _digits() if name == "digits" else _stripes()
        notes = [
            f"{name}: {len(x)} images of {x.shape[1]}×{x.shape[2]} pixels, {len(classes)} classes"
        ]
        return image_dataset(
            name=name,
            x=x,
            y=y,
            class_names=classes,
            data=data,
            where=name,
            target_name=target,
            pixel_max=pixel_max,
            notes=notes,
            auto=(info.task, reason),
        )
    frame, target, classes = _TABLES[name]()
    dataset = prepare_frame(
        frame,
        name=name,
        where=name,
        data=data,
        target=target,
        task_hint=(info.task, reason),
        class_names=classes,
    )
    if data.target and data.target != target:
        dataset.notes.insert(
            0, f"data.target {data.target!r} not used: {name} always predicts {target!r}"
        )
    if name == "linear":
        _explain_line(dataset)
    return dataset


def _explain_line(dataset: Dataset) -> None:
    """Tells the w and b a Dense(1) should learn, in the units the model sees after scaling."""
    w, b = LINEAR_W, LINEAR_B
    scaler = dataset.metadata.get("feature_scaler")
    if scaler is not None:  # x' = a·x + c, so y = (w/a)·x' + b − w·c/a
        c = float(scaler.transform([[0.0]])[0, 0])
        a = float(scaler.transform([[1.0]])[0, 0]) - c
        w, b = w / a, b - w * c / a
    if dataset.target_scaler is not None:  # y' = A·y + C
        c = float(dataset.target_scaler.transform([[0.0]])[0, 0])
        a = float(dataset.target_scaler.transform([[1.0]])[0, 0]) - c
        w, b = a * w, a * b + c
    dataset.metadata.update(w=LINEAR_W, b=LINEAR_B, w_model=w, b_model=b)
    line = f"made as y = {LINEAR_W}·x + {LINEAR_B} plus noise (standard deviation {LINEAR_NOISE})"
    if (w, b) == (LINEAR_W, LINEAR_B):
        dataset.notes.insert(0, f"{line}: a trained Dense(1) should read w ≈ {w}, b ≈ {b}")
    else:
        dataset.notes.insert(
            0,
            f"{line}; after scaling the model sees y = {w:.4g}·x + {b:.4g}, so a trained Dense(1) should read w ≈ {w:.4g}, b ≈ {b:.4g} (features_scale = 'none' keeps {LINEAR_W} and {LINEAR_B})",
        )


def _linear():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3.0, 3.0, 200)
    y = LINEAR_W * x + LINEAR_B + rng.normal(0.0, LINEAR_NOISE, 200)
    return pd.DataFrame({"x": x, "y": y}), "y", None


def _sklearn(loader, target: str, with_classes: bool, **kwargs):
    bunch = loader(as_frame=True, **kwargs)
    frame = bunch.frame.rename(columns={"target": target})
    classes = [str(c) for c in bunch.target_names] if with_classes else None
    return frame, target, classes


def _diabetes():
    from sklearn.datasets import load_diabetes

    return _sklearn(load_diabetes, "progression", False, scaled=False)


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return _sklearn(load_breast_cancer, "diagnosis", True)


def _wine():
    from sklearn.datasets import load_wine

    return _sklearn(load_wine, "cultivar", True)


def _iris():
    from sklearn.datasets import load_iris

    return _sklearn(load_iris, "species", True)


def _points(x: np.ndarray, y: np.ndarray, classes: list[str]):
    return (
        pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": y.astype(np.int64)}),
        "label",
        classes,
    )


def _moons():
    from sklearn.datasets import make_moons

    x, y = make_moons(500, noise=0.2, random_state=0)
    return _points(x, y, ["upper moon", "lower moon"])


def _circles():
    from sklearn.datasets import make_circles

    x, y = make_circles(500, noise=0.1, factor=0.5, random_state=0)
    return _points(x, y, ["outer circle", "inner circle"])


def _spiral():
    rng = np.random.default_rng(0)
    per_arm = 300
    t = (
        np.sqrt(rng.uniform(0.0, 1.0, 2 * per_arm)) * 3 * np.pi
    )  # sqrt: points evenly spread along the arm
    arm = np.repeat([0, 1], per_arm)
    angle = t + arm * np.pi
    radius = t / (3 * np.pi)
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]) + rng.normal(
        0.0, 0.02, (2 * per_arm, 2)
    )
    return _points(x, arm, ["arm A", "arm B"])


def _xor():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, (400, 2))
    return _points(x, (x[:, 0] * x[:, 1] < 0), ["same sign", "different signs"])


def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype(np.float32)[..., np.newaxis]
    return x, bunch.target.astype(np.int32), [str(d) for d in bunch.target_names], 16.0, "digit"


def _stripes(n: int = 400, size: int = 16):
    rng = np.random.default_rng(0)
    y = rng.permutation(np.arange(n) % 2).astype(np.int32)
    x = rng.uniform(0.0, 40.0, (n, size, size)).astype(np.float32)
    for i in range(n):
        lines = rng.choice(size, size=rng.integers(1, 4), replace=False)
        brightness = rng.uniform(180.0, 255.0)
        if y[i] == 0:
            x[i, lines, :] = brightness
        else:
            x[i, :, lines] = brightness
    return np.round(x)[..., np.newaxis], y, ["horizontal", "vertical"], 255.0, "direction"


_TABLES = {
    "linear": _linear,
    "diabetes": _diabetes,
    "breast_cancer": _breast_cancer,
    "wine": _wine,
    "iris": _iris,
    "moons": _moons,
    "circles": _circles,
    "spiral": _spiral,
    "xor": _xor,
}
