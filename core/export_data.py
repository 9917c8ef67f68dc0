"""The data half of an exported script: reading, cleaning, the seeded split and the scaling.

Each step is written only when layerlab took it for this data set (its notes, feature names
and class names say which), and the split is checked against layerlab's own before it is written.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import Dataset, prep
from .data.files import check_table, sniff_delimiter, table_kind
from .data.target import as_number, is_text
from .export_keras import RULE, ExportError, KerasSections, comment, literal
from .spec import Spec

SKLEARN_SETS = {
    "diabetes": ("load_diabetes", "scaled=False"),
    "breast_cancer": ("load_breast_cancer", ""),
    "wine": ("load_wine", ""),
    "iris": ("load_iris", ""),
}
"""Built-in sets read with scikit-learn's own loader: (loader, extra arguments)."""
IMAGE_SETS = ("digits", "stripes")

PERMUTATIONS = (
    (
        "np.random.RandomState(seed).permutation(n)[::-1]",
        "the last rows of a permutation seeded with SEED, those\n"
        "# df.sample(frac=1 - valid_fraction, random_state=SEED) leaves out, validate",
    ),
    (
        "np.random.default_rng(seed).permutation(n)",
        "the first rows of a permutation seeded with SEED validate",
    ),
)
"""How layerlab has permuted the rows (code, words); the one that reproduces core.data.prep's
split is written (checked at export), else the validation rows themselves."""


def split_code(permutation: tuple[str, str], fraction: float, stratified: bool) -> str:
    """The split as the script writes it, for one way of permuting the rows."""
    code, words = permutation
    if not stratified:
        order = code.replace("seed", "SEED").replace("(n)", "(len(X))")
        return f"""\
# The same split as layerlab's: {words}.
n_valid = int(np.ceil({fraction!r} * len(X)))
order = {order}
valid = np.sort(order[:n_valid])
train = np.setdiff1d(np.arange(len(X)), valid)"""
    return f"""\
# The same split as layerlab's, stratified: {words};
# each class gives its share, the largest remainders settling the rounding.
def split_rows(y, valid_fraction, seed):
    n = len(y)
    n_valid = int(np.ceil(valid_fraction * n))
    order = {code}
    ranked = y[order]
    classes, counts = np.unique(ranked, return_counts=True)
    exact = counts * (n_valid / n)
    shares = np.floor(exact).astype(np.int64)
    short = n_valid - int(shares.sum())
    shares[np.argsort(-(exact - shares), kind="stable")[:short]] += 1
    valid = np.concatenate([order[ranked == c][:k] for c, k in zip(classes, shares)])
    return np.setdiff1d(np.arange(n), valid), np.sort(valid)


train, valid = split_rows(y, {fraction!r}, SEED)"""


def _run(code: str, here: Path, seed: int, names: dict[str, Any] | None = None) -> dict[str, Any]:
    """Runs a section of the script being written (its own code, no user input) to check it."""
    scope: dict[str, Any] = {"np": np, "pd": pd, "HERE": here, "SEED": seed, **(names or {})}
    exec(compile(code, "<exported script>", "exec"), scope)  # noqa: S102 - our own generated code
    return scope


class ScriptWriter(KerasSections):
    """The script for one spec and its loaded data set, section by section."""

    def __init__(self, spec: Spec, dataset: Dataset, out: Path, copies: list[str]):
        super().__init__(spec, dataset, out, copies)
        self.tables: list[Path] = []
        """Generated data sets to write beside the script as CSV."""
        self.target = dataset.target_name

    def script(self) -> str:
        data = self._data()
        parts = [
            self._header(),
            data,
            self._split(data),
            self._prepare(),
            self._model(),
            self._fit(),
            self._results(),
        ]
        return "\n\n".join(p.strip("\n") for p in parts if p) + "\n"

    # -- sections -----------------------------------------------------------------------------

    def _header(self) -> str:
        spec = self.spec
        epochs = spec.fit.epochs
        return f'''\
"""{spec.name}: a layerlab experiment as a plain Keras script.

Runs with keras and a backend (TensorFlow, JAX or PyTorch), pandas and numpy{self._sklearn_note()}.
The split, the preparation and the model are layerlab's, so the results compare with its runs.
Fewer epochs for a quick try:  EPOCHS=20 python {self.out.name}
"""

import os
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import layers

HERE = Path(__file__).resolve().parent
SEED = {spec.data.seed}
EPOCHS = int(os.environ.get("EPOCHS", {epochs}))
keras.utils.set_random_seed(SEED)'''

    def _sklearn_note(self) -> str:
        return " and scikit-learn" if self.spec.data.name in SKLEARN_SETS else ""

    def _data(self) -> str:
        lines = [
            RULE,
            "# The data. What layerlab did to it, step by step:",
            comment(self.data.notes),
            "",
        ]
        lines += self._read()
        frame = self._raw_frame()
        target = self.target
        if (
            target in frame.columns
            and is_text(frame[target])
            and as_number(frame[target]) is not None
        ):
            lines.append(f"df[{literal(target)}] = as_number(df[{literal(target)}])")
        if any("whose target" in note and note.startswith("dropped") for note in self.data.notes):
            if self.classify:
                lines.append(f"df = df.dropna(subset=[{literal(target)}])")
            else:
                lines.append(f"df = df[np.isfinite(df[{literal(target)}])]")
        lines += self._features(frame)
        lines += self._labels(frame)
        helper = self._as_number_helper(lines)
        return "\n".join(([helper, ""] if helper else []) + lines)

    def _read(self) -> list[str]:
        name = self.spec.data.name
        if name in SKLEARN_SETS:
            loader, extra = SKLEARN_SETS[name]
            args = ", ".join(a for a in ("as_frame=True", extra) if a)
            lines = [
                f"from sklearn.datasets import {loader}",
                "",
                f'df = {loader}({args}).frame.rename(columns={{"target": {literal(self.target)}}})',
            ]
            return lines
        if name:  # a generated set: its rows, as layerlab makes them, beside the script
            csv = self.out.parent / f"{name}.csv"
            assert self.data.frame is not None
            csv.parent.mkdir(parents=True, exist_ok=True)
            self.data.frame.to_csv(csv, index=False)
            self.tables.append(csv)
            return [f"df = pd.read_csv(HERE / {literal(csv.name)})"]
        path = self.spec.data_path()
        assert path is not None
        return [f"df = {self._reader(path)}"]

    def _reader(self, path: Path) -> str:
        path = path.resolve()
        try:
            shown = f"HERE / {literal(path.relative_to(self.out.parent).as_posix())}"
        except ValueError:
            shown = literal(str(path))
        kind = check_table(path)
        if kind == "parquet":
            return f"pd.read_parquet({shown})"
        options = ""
        if table_kind(path) == "text" and path.suffix.lower() not in (
            ".gz",
            ".bz2",
            ".zip",
            ".xz",
            ".zst",
        ):
            raw = path.open("rb").read(65536)
            try:
                sample, encoding = raw.decode("utf-8-sig"), ""
            except UnicodeDecodeError:
                sample, encoding = raw.decode("latin-1"), "latin-1"
            sep = sniff_delimiter(sample, "\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
            if sep != ",":
                options += f", sep={literal(sep)}"
            if encoding:
                options += f", encoding={literal(encoding)}"
            if f"{sep} " in sample:
                options += ", skipinitialspace=True"
        return f"pd.read_csv({shown}{options})"

    def _raw_frame(self) -> pd.DataFrame:
        frame = self.data.frame
        if frame is None:
            raise ExportError("was streamed: export needs a table that fits in memory", "data")
        return frame.set_axis([str(c) for c in frame.columns], axis=1)

    def _features(self, frame: pd.DataFrame) -> list[str]:
        kept = set(self.data.feature_names)
        drop = list(self.spec.data.drop)
        text, parsed = [], []
        for column in frame.columns:
            if column == self.target or column in drop:
                continue
            values = frame[column]
            if column in kept:
                if is_text(values):
                    parsed.append(column)
            elif any(name.startswith(f"{column}_") for name in kept) and (
                is_text(values) or isinstance(values.dtype, pd.CategoricalDtype)
            ):
                text.append(column)
            else:
                drop.append(column)
        lines = [f"X = df.drop(columns=[{', '.join(literal(c) for c in [self.target, *drop])}])"]
        for column in parsed:
            lines.append(f"X[{literal(column)}] = as_number(X[{literal(column)}])")
        if any("infinite value(s) treated as missing" in note for note in self.data.notes):
            lines.append("X = X.replace([np.inf, -np.inf], np.nan)")
        if text:
            names = ", ".join(literal(c) for c in text)
            lines += [
                f"for column in [{names}]:  # text: one 0/1 column per value",
                '    X[column] = X[column].astype("string").str.strip().fillna("(missing)")',
                f'X = pd.get_dummies(X, columns=[{names}], dtype="float32")',
            ]
        lines.append('X = X.astype("float32")')
        return lines

    def _labels(self, frame: pd.DataFrame) -> list[str]:
        target = literal(self.target)
        if not self.classify:
            return [f'y = df[{target}].to_numpy("float32")']
        names = self.data.class_names
        shown = ", ".join(literal(n) for n in names)
        if self.spec.data.name:  # built-in sets hold class numbers already
            return [f"class_names = [{shown}]", f'y = df[{target}].to_numpy("int32")']
        order = getattr(self.spec.data, "classes", None)
        if order:
            values = frame[self.target]
            labels = f"df[{target}].astype(str)"
            if pd.api.types.is_float_dtype(values):
                labels = f'df[{target}].astype("int64").astype(str)'
            return [
                f"class_names = [{shown}]  # the order data.classes gives: the first is class 0",
                f'y = {labels}.map({{name: i for i, name in enumerate(class_names)}}).to_numpy("int32")',
            ]
        labels = f"df[{target}]" + (".astype(str)" if is_text(frame[self.target]) else "")
        return [
            f"codes, class_names = pd.factorize({labels}, sort=True)  # sorted labels: {shown}",
            'y = codes.astype("int32")',
        ]

    @staticmethod
    def _as_number_helper(lines: list[str]) -> str:
        if not any("as_number(" in line for line in lines):
            return ""
        return '''\
def as_number(column):
    """Numbers written as text (quoted, or with decimal commas) read as numbers."""
    text = column.astype("string").str.strip().replace({"": pd.NA, "?": pd.NA})
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().sum() < text.notna().sum():
        numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    return numbers.astype("float64")'''

    def _split(self, data_code: str) -> str:
        fraction = self.spec.data.valid_fraction
        if not self.has_valid:
            return f"{RULE}\n# No validation split (valid_fraction = 0): every row trains.\ntrain = np.arange(len(X))"
        stratified = self._stratified()
        found = _run(data_code, self.out.parent, self.spec.data.seed)
        y = np.asarray(found["y"])
        truth = prep.split_rows(len(y), y if stratified else None, fraction, self.spec.data.seed)
        shown = 'print(f"{len(train)} training rows, {len(valid)} validation rows")'
        for permutation in PERMUTATIONS:
            code = split_code(permutation, fraction, stratified)
            split = _run(code, self.out.parent, self.spec.data.seed, found)
            if np.array_equal(split["train"], truth[0]) and np.array_equal(
                split["valid"], truth[1]
            ):
                return f"{RULE}\n{code}\n{shown}"
        listed = textwrap.fill(", ".join(map(str, truth[1])), 92, subsequent_indent="    ")
        return (  # a split made some other way: its rows, as they are
            f"{RULE}\n# The validation rows layerlab chose (seed {self.spec.data.seed}):\n"
            f"valid = np.array([\n    {listed}\n])\ntrain = np.setdiff1d(np.arange(len(X)), valid)\n{shown}"
        )

    def _stratified(self) -> bool:
        """Whether layerlab stratified the split (core.data.base.split's rule)."""
        data = self.data
        if not self.classify or data.y_valid is None:
            return False
        y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_valid)])
        _, counts = np.unique(y, return_counts=True)
        n, n_valid = len(y), len(data.y_valid)
        return bool(counts.min() >= 2 and n_valid >= len(counts) and n - n_valid >= len(counts))

    def _prepare(self) -> str:
        splits = ("X_train", "X_valid") if self.has_valid else ("X_train",)
        lines = [RULE, "# Preparation fitted on the training split only."]
        lines.append(
            "X_train, X_valid = X.iloc[train], X.iloc[valid]"
            if self.has_valid
            else "X_train = X.iloc[train]"
        )
        lines.append(
            "y_train, y_valid = y[train], y[valid]" if self.has_valid else "y_train = y[train]"
        )
        if self.data.metadata.get("fill") is not None:
            lines += ["medians = X_train.median().fillna(0)  # missing values: the column's median"]
            lines += [f"{s} = {s}.fillna(medians)" for s in splits]
        how = self.spec.data.features_scale
        if how == "minmax":
            lines += [
                "low, spread = X_train.min(), X_train.max() - X_train.min()",
                "spread = spread.replace(0, 1)  # a column without spread stays as it is",
            ]
        elif how == "standard":
            lines += ["low, spread = X_train.mean(), X_train.std(ddof=0).replace(0, 1)"]
        scaled = "({s} - low) / spread" if how != "none" else "{s}"
        lines += [f'{s} = ({scaled.format(s=s)}).to_numpy("float32")' for s in splits]
        target_how = self.spec.data.target_scale
        if not self.classify and target_how != "none":
            ys = ("y_train", "y_valid") if self.has_valid else ("y_train",)
            if target_how == "minmax":
                lines.append(
                    "y_low, y_spread = y_train.min(), (y_train.max() - y_train.min()) or 1.0"
                )
            else:
                lines.append("y_low, y_spread = y_train.mean(), y_train.std() or 1.0")
            lines.append(
                "# the target is scaled too, so losses are in scaled units, as in layerlab"
            )
            lines += [f'{s} = (({s} - y_low) / y_spread).astype("float32")' for s in ys]
        return "\n".join(lines)
