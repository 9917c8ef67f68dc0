"""Edits of the layer stack, each one undoable step of the workspace (insert, move, duplicate…)."""

from __future__ import annotations

import copy

from layerlab.core.spec import LayerSpec, Spec


class LayerEdits:
    """Layer operations for a class with a `spec` and an undoable `edit(spec)` (the Workspace)."""

    spec: Spec

    def edit(self, spec: Spec) -> bool:  # pragma: no cover - the Workspace provides it
        raise NotImplementedError

    def insert_layer(self, index: int, layer: LayerSpec) -> int:
        """Insert a layer at `index`; returns its position."""
        spec = self.spec.copy()
        index = max(0, min(index, len(spec.layers)))
        spec.layers.insert(index, copy.deepcopy(layer))
        self.edit(spec)
        return index

    def replace_layer(self, index: int, layer: LayerSpec) -> None:
        spec = self.spec.copy()
        spec.layers[index] = copy.deepcopy(layer)
        self.edit(spec)

    def remove_layer(self, index: int) -> None:
        spec = self.spec.copy()
        del spec.layers[index]
        self.edit(spec)

    def duplicate_layer(self, index: int) -> int:
        """Copy the layer just below itself; returns the copy's position."""
        return self.insert_layer(index + 1, self.spec.layers[index])

    def move_layer(self, index: int, offset: int) -> int:
        """Move a layer up (offset -1) or down (+1); returns where it ended up."""
        target = index + offset
        if not (0 <= index < len(self.spec.layers) and 0 <= target < len(self.spec.layers)):
            return index
        spec = self.spec.copy()
        spec.layers.insert(target, spec.layers.pop(index))
        self.edit(spec)
        return target
