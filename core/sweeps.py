"""A run's place in a sweep (`layerlab sweep`), read from its provenance.json, and the short labels
that tell the sweep's runs apart ("lr=0.01 bs=32 s0").

Imports neither keras nor tensorflow: the Runs screen reads it for every run folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SHORT_KEYS = {
    "learning_rate": "lr",
    "batch_size": "bs",
    "epochs": "ep",
    "optimizer": "opt",
    "patience": "pat",
    "valid_fraction": "valid",
}
"""The words a label uses for the settings swept most often (the SGD lesson's two first)."""

_INDEXED = re.compile(r"^([A-Za-z_]+)\[(\d+)\]$")


@dataclass(frozen=True)
class SweepTag:
    """Which sweep a run belongs to, the settings it tried, and its seed."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict, hash=False)
    """Spec keys and this run's values, e.g. {"compile.learning_rate": 0.01}."""
    seed: int | None = None

    @classmethod
    def from_provenance(cls, provenance: dict[str, Any]) -> SweepTag | None:
        """The "sweep" entry of a provenance.json, or None when the run was not part of a sweep."""
        tag = provenance.get("sweep")
        if not isinstance(tag, dict) or not isinstance(tag.get("name"), str) or not tag["name"]:
            return None
        settings = tag.get("settings")
        seed = tag.get("seed")
        return cls(
            tag["name"],
            dict(settings) if isinstance(settings, dict) else {},
            seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        )

    def label(self, keys: Iterable[str] | None = None, *, seed: bool = True) -> str:
        """The settings in a few characters, e.g. "lr=0.01 bs=32 s0".

        Args:
            keys: The settings to show (those that differ between the sweep's runs); all of them
                when None.
            seed: Whether to show the seed (not when every run of the sweep has the same one).
        """
        chosen = (
            self.settings
            if keys is None
            else {k: self.settings[k] for k in keys if k in self.settings}
        )
        parts = [f"{short_key(k)}={short_value(v)}" for k, v in chosen.items()]
        if seed and self.seed is not None:
            parts.append(f"s{self.seed}")
        return " ".join(parts) or self.name


def short_key(key: str) -> str:
    """A spec key as a label shows it: compile.learning_rate → lr, layers[0].units → units[0]."""
    parts = key.split(".")
    last = SHORT_KEYS.get(parts[-1], parts[-1])
    for part in reversed(parts[:-1]):
        indexed = _INDEXED.match(part)
        if indexed:
            return f"{last}[{indexed.group(2)}]"
    return last


def short_value(value: Any) -> str:
    """0.0001 → 0.0001, 1e-05 → 1e-05, 32 → 32, True → true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def varying(tags: Iterable[SweepTag]) -> tuple[list[str], bool]:
    """The settings whose values differ between these runs (in the sweep's order), and whether
    their seeds differ: what a label needs to tell the runs apart.

    With one run, or runs whose settings are all alike, every setting is shown.
    """
    tags = list(tags)
    keys: list[str] = []
    for tag in tags:
        keys += [k for k in tag.settings if k not in keys]
    differ = [k for k in keys if len({repr(t.settings.get(k)) for t in tags}) > 1]
    seeds = len({t.seed for t in tags}) > 1
    return (differ if differ or seeds else keys), seeds
