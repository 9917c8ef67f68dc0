"""Picture widget: an image (numpy array or PIL image) shown through textual-image, with a title.

Importing this module imports `textual_image.widget`, which asks the terminal which graphics
it supports (Sixel, the Kitty protocol) and its cell size. That only works before the App
starts reading stdin, so import it at start-up, before `App.run()`.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Literal

import numpy as np
from PIL import Image as PILImage
from textual.app import ComposeResult
from textual.containers import Container
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static
from textual_image import _terminal


def _probe_cell_size() -> None:
    """Ask textual-image for the cell size, assuming its default if the terminal reports 0 × 0.

    textual-image 0.12 divides by the tty's reported columns on import, so a pty of size 0 × 0
    (`script`, some containers) raises ZeroDivisionError there; seed its cache instead.
    """
    try:
        _terminal.get_cell_size()
    except ZeroDivisionError:
        _terminal.get_cell_size._result = _terminal.CellSize(10, 20)  # type: ignore[attr-defined]


_probe_cell_size()

from textual_image.widget import HalfcellImage, SixelImage, TGPImage, UnicodeImage  # noqa: E402
from textual_image.widget import Image as AutoImage  # noqa: E402

Renderer = Literal["auto", "halfcell", "sixel", "tgp", "unicode"]

RENDERERS: dict[str, type[Widget]] = {
    "auto": AutoImage,
    "halfcell": HalfcellImage,
    "sixel": SixelImage,
    "tgp": TGPImage,
    "unicode": UnicodeImage,
}
SHARP_SIZE = 256
"""Smaller images are first enlarged to about this many pixels with nearest-neighbour,
so that the renderer's own smoothing does not blur a 64×64 picture."""


def to_pil(image: object) -> PILImage.Image:
    """Convert an array or PIL image to a PIL image.

    Args:
        image: A PIL image; or a 2-D grayscale array (floats in [0, 1], or integers in
            [0, 255]), or an (H, W, 3) colour one. Values out of range are clipped.

    Returns:
        A PIL image in mode "L" or "RGB", enlarged to about `SHARP_SIZE` if small.

    Raises:
        ValueError: If the array is not a grayscale or RGB picture.
    """
    if isinstance(image, PILImage.Image):
        picture = image
    else:
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3):
            raise ValueError(f"a picture needs shape (H, W) or (H, W, 3), got {array.shape}")
        if np.issubdtype(array.dtype, np.floating):
            array = np.nan_to_num(array) * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
        picture = PILImage.fromarray(array)
    factor = SHARP_SIZE // max(picture.size)
    if factor > 1:
        picture = picture.resize(
            (picture.width * factor, picture.height * factor), PILImage.Resampling.NEAREST
        )
    return picture


class Picture(Widget):
    """An image with a title line above it, scaled to fit and centred.

    The renderer is textual-image's best for the terminal (Sixel, Kitty's protocol, else
    half-cell blocks; shade characters when stdout is not a terminal). Under a headless App,
    as in tests, "auto" means half-cell blocks, which render the same everywhere.
    """

    DEFAULT_CSS = """
    Picture {
        width: 1fr;
        height: 1fr;
    }
    Picture > .picture--title {
        width: 100%;
        text-align: center;
        text-style: bold;
    }
    Picture > .picture--frame {
        width: 1fr;
        height: 1fr;
        align: center top;
    }
    Picture .picture--image {
        width: auto;
        height: auto;
    }
    """

    image: reactive[object] = reactive(None, always_update=True)
    """The picture: an array or a PIL image (see `to_pil`), or None for an empty panel."""
    title: reactive[str] = reactive("")
    """Text on the first line."""

    def __init__(
        self,
        image: object = None,
        *,
        title: str = "",
        renderer: Renderer = "auto",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a picture.

        Args:
            image: The picture (see `to_pil`), or None.
            title: Text for the first line.
            renderer: "auto", or force one of textual-image's: "halfcell", "sixel", "tgp", "unicode".
            name: Name of the widget.
            id: ID of the widget in the DOM.
            classes: CSS classes.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._renderer = renderer
        self.set_reactive(Picture.image, image)
        self.set_reactive(Picture.title, title)

    def validate_image(self, value: object) -> PILImage.Image | None:
        """Convert the new picture to PIL."""
        return None if value is None else to_pil(value)

    def compose(self) -> ComposeResult:
        renderer = self._renderer
        if renderer == "auto" and self.app.is_headless:
            renderer = "halfcell"
        yield Static(self.title, classes="picture--title")
        with Container(classes="picture--frame"):
            yield RENDERERS[renderer](self._pil(), classes="picture--image")

    def _pil(self) -> PILImage.Image | None:
        # set_reactive in __init__ skips validation, so convert here as well.
        return None if self.image is None else to_pil(self.image)

    def watch_image(self) -> None:
        with suppress(NoMatches):
            self.query_one(".picture--image").image = self._pil()

    def watch_title(self, title: str) -> None:
        with suppress(NoMatches):
            self.query_one(".picture--title", Static).update(title)
