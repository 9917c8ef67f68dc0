"""Words for the Inspect screen: layer labels, a prediction against the truth, a linear unit's w and b."""

from __future__ import annotations

from typing import Any

import numpy as np
from layerlab.tui.widgets.colormap import format_value
from rich.markup import escape

TOP_CLASSES = 5
"""How many classes a prediction lists, most probable first."""
BAR_WIDTH = 10


def kernel_label(view: Any) -> str:
    """A Conv2D layer in the layer list, e.g. "conv2d_0 · Conv2D 3×3, 1 channel in → 16 filters"."""
    kh, kw, channels, filters = view.kernel.shape
    ins = "1 channel" if channels == 1 else f"{channels} channels"
    return f"{view.name} · Conv2D {kh}×{kw}, {ins} in → {filters} filters"


def dense_label(view: Any) -> str:
    """A Dense layer in the layer list, e.g. "dense_3 · Dense 64 → 10"."""
    inputs, units = view.weights.shape
    return f"{view.name} · Dense {inputs} → {units} ({view.activation})"


def value_range_text(low: float, high: float) -> str:
    """E.g. "values −0.41 … 0.52"."""
    return f"values {format_value(low)} … {format_value(high)}"


def unit_text(view: Any, feature_names: list[str], metadata: dict[str, Any]) -> str:
    """A single unit's y = w·x + b with its numbers, and the true line when the data set knows it."""
    w, b = view.w or [], view.b if view.b is not None else 0.0
    lines = ["[b]y = w·x + b[/b]" if len(w) == 1 else "[b]y = w₁·x₁ + … + b[/b]"]
    if len(w) == 1:
        lines.append(f"w = [b]{w[0]:.4f}[/b]    b = [b]{b:.4f}[/b]")
    else:
        names = (
            feature_names if len(feature_names) == len(w) else [f"x{i + 1}" for i in range(len(w))]
        )
        lines += [
            f"w({escape(name)}) = [b]{value:.4f}[/b]" for name, value in zip(names, w, strict=True)
        ]
        lines.append(f"b = [b]{b:.4f}[/b]")
    if len(w) == 1 and "w_model" in metadata:
        true_w, true_b = float(metadata["w_model"]), float(metadata["b_model"])
        lines.append(
            f"[dim]the data was made with w = {true_w:.4g}, b = {true_b:.4g} "
            f"(as the model sees it); off by {abs(w[0] - true_w):.3g} and {abs(b - true_b):.3g}[/dim]"
        )
    if view.activation != "linear":
        lines.append(f"[dim]then the {view.activation} activation[/dim]")
    return "\n".join(lines)


def _probabilities(output: np.ndarray, task: str) -> tuple[np.ndarray, bool]:
    """Class probabilities from the model's output; True when they had to be made from logits."""
    values = np.asarray(output, dtype=np.float64).reshape(-1)
    if task == "binary" and values.size == 1:
        p = values[0]
        if 0.0 <= p <= 1.0:
            return np.array([1.0 - p, p]), False
        p = 1.0 / (1.0 + np.exp(-p))
        return np.array([1.0 - p, p]), True
    if values.min() >= 0.0 and abs(values.sum() - 1.0) < 1e-3:
        return values, False
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum(), True


def _class_name(names: list[str], index: int) -> str:
    return escape(names[index]) if 0 <= index < len(names) else str(index)


def _bar(p: float) -> str:
    full = int(round(p * BAR_WIDTH))
    return "█" * full + "·" * (BAR_WIDTH - full)


def _value(value: float, dataset: Any) -> float:
    """A regression value in the target's own units (undoing the target scaling)."""
    scaler = getattr(dataset, "target_scaler", None)
    if scaler is None:
        return float(value)
    return float(scaler.inverse_transform([[float(value)]])[0, 0])


def truth_text(dataset: Any, label: Any) -> str:
    """The true label of a sample in words: its class name, or its value."""
    if label is None:
        return "—"
    if dataset.task == "regression":
        return format_value(_value(float(np.asarray(label).reshape(-1)[0]), dataset))
    return _class_name(dataset.class_names, int(np.asarray(label).reshape(-1)[0]))


def prediction_text(output: np.ndarray, dataset: Any, label: Any = None) -> str:
    """The model's answer for one sample, with the true label (None when unknown, e.g. a file).

    Classifiers list their most probable classes with a bar each; regression gives the value.
    """
    task = getattr(dataset, "task", "regression")
    true = truth_text(dataset, label)
    if task == "regression":
        values = [format_value(_value(v, dataset)) for v in np.asarray(output).reshape(-1)]
        return f"[b]predicted[/b] {', '.join(values)}\n[b]true[/b]      {true}"
    probabilities, from_logits = _probabilities(output, task)
    order = np.argsort(-probabilities)[:TOP_CLASSES]
    best = _class_name(dataset.class_names, int(order[0]))
    mark = "" if label is None else (" [green]✓[/green]" if best == true else " [red]✗[/red]")
    lines = [f"[b]predicted[/b] {best}{mark}", f"[b]true[/b]      {true}"]
    width = max(len(_class_name(dataset.class_names, int(i))) for i in order)
    for i in order:
        name = _class_name(dataset.class_names, int(i))
        p = float(probabilities[i])
        lines.append(f"{name:>{width}} {p * 100:5.1f}% {_bar(p)}")
    if from_logits:
        lines.append("[dim](probabilities from the raw outputs)[/dim]")
    return "\n".join(lines)
