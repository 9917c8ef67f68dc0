"""The Keras half of an exported script: the Sequential stack, compile, fit and the curves.

Layers are written as `layers.X(**params)`: the catalog's defaults where the spec says nothing,
and only the parameters that differ from Keras' own defaults, so they read like the courses'.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path
from typing import Any

from .catalog import LAYERS
from .data import Dataset
from .errors import LayerlabError
from .spec import Spec

RULE = "# " + "-" * 94


class ExportError(LayerlabError):
    """An experiment that cannot be written as a plain Keras script, and why."""


def literal(value: Any) -> str:
    """A parameter value as Python source (strings in double quotes, as the courses write them)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def comment(lines: list[str], width: int = 96) -> str:
    return "\n".join(
        textwrap.fill(line, width, initial_indent="#   ", subsequent_indent="#     ")
        for line in lines
    )


class KerasSections:
    """The model, training and results sections of the script for one spec and data set."""

    def __init__(self, spec: Spec, dataset: Dataset, out: Path, copies: list[str]):
        self.spec, self.data, self.out, self.copies = spec, dataset, out, copies
        self.classify = dataset.task != "regression"
        self.has_valid = dataset.has_valid

    def _model(self) -> str:
        stack = [f"    keras.Input(shape={literal(list(self.data.input_shape))}),"]
        stack += [f"    {_layer(layer.type, layer.params)}," for layer in self.spec.layers]
        compile_spec = self.spec.compile
        loss, metrics = self._loss_and_metrics()
        optimizer = _OPTIMIZER_CLASSES.get(compile_spec.optimizer, compile_spec.optimizer)
        metric_text = ", ".join(_METRIC_SOURCE.get(m, literal(m)) for m in metrics)
        return "\n".join(
            [
                RULE,
                "# The model: the same layers, optimizer, loss and metrics.",
                "model = keras.Sequential([",
                *stack,
                "])",
                "model.compile(",
                f"    optimizer=keras.optimizers.{optimizer}(learning_rate={compile_spec.learning_rate!r}),",
                f"    loss={literal(loss)},",
                f"    metrics=[{metric_text}],",
                ")",
                "model.summary()",
            ]
        )

    def _loss_and_metrics(self) -> tuple[str, list[str]]:
        from . import model as models

        report = models.check(self.spec.layers, self.data.input_shape, base_dir=self.spec.base_dir)
        if report.error:
            raise report.error
        out = report.output_shape
        units = out[-1] if out is not None and len(out) == 1 else None
        task = self.data.task
        return (
            models.resolve_loss(self.spec.compile, task, units),
            models.resolve_metrics(self.spec.compile, task, units),
        )

    def _fit(self) -> str:
        fit = self.spec.fit
        lines = [
            RULE,
            "# Training"
            + (
                ", stopped early when the monitored value stops improving."
                if fit.early_stopping
                else "."
            ),
        ]
        callbacks = ""
        es = fit.early_stopping
        if es is not None:
            extra = f"\n    start_from_epoch={es.start_from_epoch}," if es.start_from_epoch else ""
            lines += [
                "early_stopping = keras.callbacks.EarlyStopping(",
                f"    monitor={literal(es.monitor)},",
                f"    min_delta={es.min_delta!r},  # the least change that counts as an improvement",
                f"    patience={es.patience},  # how many epochs to wait before stopping",
                f"    restore_best_weights={es.restore_best_weights},{extra}",
                ")",
            ]
            callbacks = "\n    callbacks=[early_stopping],"
        valid = "\n    validation_data=(X_valid, y_valid)," if self.has_valid else ""
        lines.append(
            f"history = model.fit(\n    X_train,\n    y_train,{valid}\n    batch_size={fit.batch_size},"
            f"\n    epochs=EPOCHS,{callbacks}\n    verbose=2,\n)"
        )
        return "\n".join(lines)

    def _results(self) -> str:
        loss = "val_loss" if self.has_valid else "loss"
        _, metrics = self._loss_and_metrics()
        curves = [["loss", "val_loss"] if self.has_valid else ["loss"]]
        if metrics:
            name = metrics[0]
            curves.append([name, f"val_{name}"] if self.has_valid else [name])
        plots = "\n".join(
            f"    history_df.loc[:, [{', '.join(literal(n) for n in c)}]].plot()\n"
            f"    plt.savefig(HERE / {literal(f'{self.out.stem}_{c[0]}.png')})"
            for c in curves
        )
        words = "validation loss" if self.has_valid else "training loss"
        lines = [
            RULE,
            "# The learning curves.",
            "history_df = pd.DataFrame(history.history)",
            f'best = history_df["{loss}"].idxmin()',
            f'print(f"Best {words}: {{history_df.{loss}[best]:.8g}} (epoch {{best + 1}} of {{len(history_df)}})")',
            "",
            "try:",
            "    import matplotlib.pyplot as plt",
            "except ImportError:  # no matplotlib: the numbers above are the result",
            "    plt = None",
            "if plt is not None:",
            plots,
            '    print("Learning curves saved beside this script")',
        ]
        if self.copies:
            model_file = next(c for c in self.copies if c.endswith(".keras"))
            lines += [
                "",
                "# The run's own trained model (its best epoch) and history are beside this script:",
                f'# trained = keras.models.load_model(HERE / "{model_file}")',
                "# trained.evaluate(X_valid, y_valid)",
            ]
        return "\n".join(lines)


_OPTIMIZER_CLASSES = {
    "adam": "Adam",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adamw": "AdamW",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "Nadam",
}
_METRIC_SOURCE = {
    "rmse": 'keras.metrics.RootMeanSquaredError(name="rmse")',
    "auc": 'keras.metrics.AUC(name="auc")',
}


def _layer(type_name: str, params: dict[str, Any]) -> str:
    """`layers.Dense(512, activation="relu")`: the catalog's defaults where the spec says
    nothing, and only what differs from Keras' own defaults."""
    import keras

    merged = {**LAYERS[type_name].defaults(), **params}
    if merged.get("activation") == "linear":
        merged["activation"] = None
    defaults = {
        name: p.default
        for name, p in inspect.signature(getattr(keras.layers, type_name)).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    shown = {k: v for k, v in merged.items() if not _same(v, defaults.get(k, _MISSING))}
    units = [str(shown.pop("units"))] if type_name == "Dense" and "units" in shown else []
    args = units + [f"{k}={literal(v)}" for k, v in shown.items()]
    return f"layers.{type_name}({', '.join(args)})"


_MISSING = object()


def _same(value: Any, default: Any) -> bool:
    if default is _MISSING:
        return False
    if isinstance(default, tuple) and isinstance(value, int) and not isinstance(value, bool):
        return all(d == value for d in default)
    return bool(value == default) if type(value) is type(default) or default is None else False
