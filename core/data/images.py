"""Image data: folders of images (one sub-folder per class) read through Keras, and the shared
split and pixel scaling that every image data set goes through.

Keras is imported only when a folder is read, so ``import core.data`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.base import DataError, Dataset, check_classes_task, split

if TYPE_CHECKING:
    from ..spec import DataSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
DEFAULT_SIZE = (64, 64)
KEEP_SIZE_UP_TO = 256
VALID_FOLDERS = ("valid", "validation")


def image_dataset(
    *,
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    data: DataSpec,
    where: str,
    target_name: str,
    pixel_max: float,
    notes: list[str],
    valid: tuple[np.ndarray | None, np.ndarray | None] | None = None,
    auto: tuple[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Dataset:
    """A Dataset from images (n, h, w, c) and class codes: task, split and pixel scaling.

    Args:
        valid: The (x, y) validation split the data comes with, (None, None) for none; by
            default one is split off with data.valid_fraction and data.seed.
        pixel_max: The brightest possible pixel (255, or 16 for digits); pixels are divided by it
            to lie in 0–1 unless data.features_scale is "none".
        auto: (task, reason) when data.task is "auto"; by default binary for 2 classes.
    """
    what = f"{len(class_names)} classes ({_listing(class_names)})"
    task, reason = check_classes_task(data.task, len(class_names), what, where, auto)
    if data.drop:
        notes.append(f"data.drop ({', '.join(data.drop)}) not applied: images have no columns")
    if data.target_scale != "none":
        notes.append(
            f"target_scale {data.target_scale!r} not applied: the task is {task}, not regression"
        )
    if valid is None:
        train, valid_rows, note = split(
            len(x), y, data.valid_fraction, data.seed, where, unit="images"
        )
        notes.append(note)
        x_train, y_train = x[train], y[train]
        x_valid, y_valid = (
            (x[valid_rows], y[valid_rows]) if valid_rows is not None else (None, None)
        )
    else:
        (x_train, y_train), (x_valid, y_valid) = (x, y), valid
    raw_valid = x_valid
    if data.features_scale == "none":
        notes.append(
            f"pixel values left as they are, 0–{pixel_max:g} (features_scale = 'none'): add a Rescaling layer to bring them to 0–1"
        )
    else:
        scale = np.float32(1.0 / pixel_max)
        x_train = x_train * scale
        x_valid = None if x_valid is None else x_valid * scale
        notes.append(
            f"pixel values divided by {pixel_max:g} to lie in 0–1 (images are scaled this way unless features_scale = 'none')"
        )
    return Dataset(
        name=name,
        task=task,
        task_reason=reason,
        x_train=x_train.astype(np.float32, copy=False),
        y_train=y_train.astype(np.int32, copy=False),
        x_valid=None if x_valid is None else x_valid.astype(np.float32, copy=False),
        y_valid=None if y_valid is None else y_valid.astype(np.int32, copy=False),
        input_shape=tuple(int(s) for s in x.shape[1:]),
        n_classes=len(class_names),
        class_names=list(class_names),
        feature_names=[],
        target_name=target_name,
        notes=notes,
        is_image=True,
        raw_x_valid=raw_valid,
        metadata={"pixel_max": pixel_max, **(metadata or {})},
    )


def load_folder(folder: Path, data: DataSpec) -> Dataset:
    """A folder with one sub-folder of images per class (or train/ and valid/ folders of those)."""
    where = str(folder)
    subfolders = _subfolders(folder)
    names = {p.name.lower(): p for p in subfolders}
    notes: list[str] = []
    valid_folder = next((names[v] for v in VALID_FOLDERS if v in names), None)
    if "train" in names and valid_folder is not None and _subfolders(names["train"]):
        train_files, classes = _class_files(names["train"])
        valid_files, valid_classes = _class_files(valid_folder)
        if valid_classes != classes:
            raise DataError(
                f"the class folders differ: train/ has {_listing(classes)}, {valid_folder.name}/ has {_listing(valid_classes)}",
                where,
            )
        notes.append(
            f"used the folder's own split: {len(train_files)} images in train/, {len(valid_files)} in {valid_folder.name}/"
        )
    else:
        train_files, classes = _class_files(folder)
        valid_files = []
    own_valid: tuple[np.ndarray | None, np.ndarray | None] | None = None
    if valid_files and valid_folder is not None and data.valid_fraction == 0:
        notes.append(
            f"no validation split (valid_fraction = 0): the images in {valid_folder.name}/ are not used"
        )
        valid_files, own_valid = [], (None, None)
    files = train_files + valid_files
    size, color_mode, note = _plan(files, data)
    notes.insert(0, note)
    x = _read_images([f for f, _ in files], size, color_mode)
    y = np.array([c for _, c in files], dtype=np.int32)
    if valid_files:
        n = len(train_files)
        own_valid = (x[n:], y[n:])
        x, y = x[:n], y[:n]
    return image_dataset(
        name=folder.name,
        x=x,
        y=y,
        class_names=classes,
        data=data,
        where=where,
        target_name="class",
        pixel_max=255.0,
        notes=notes,
        valid=own_valid,
    )


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_files(folder: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """(image file, class code) pairs and the class names (sub-folder names, sorted)."""
    classes = _subfolders(folder)
    if not classes:
        raise DataError(
            "has no class sub-folders; expected one sub-folder of images per class, e.g. cat/ and dog/",
            folder,
        )
    if len(classes) < 2:
        raise DataError(
            f"has a single class sub-folder ({classes[0].name}/); at least 2 classes are needed, one sub-folder each",
            folder,
        )
    files = []
    for code, sub in enumerate(classes):
        images = sorted(
            p for p in sub.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not images:
            raise DataError(f"has no images; expected {', '.join(IMAGE_SUFFIXES)} files", sub)
        files += [(p, code) for p in images]
    return files, [c.name for c in classes]


def _plan(files: list[tuple[Path, int]], data: DataSpec) -> tuple[tuple[int, int], str, str]:
    """The (height, width) to read at, the colour mode, and a note; every file is checked readable."""
    from PIL import Image

    sizes, modes = set(), set()
    for path, _ in files:
        try:
            with Image.open(path) as image:
                sizes.add((image.height, image.width))
                modes.add(image.mode)
        except Exception as exc:
            raise DataError(
                f"cannot be read as an image ({_first_line(exc)}); expected {', '.join(IMAGE_SUFFIXES)}",
                path,
            ) from None
    color_mode = "grayscale" if modes <= GRAY_MODES else "rgb"
    channels = "grayscale, 1 channel" if color_mode == "grayscale" else "RGB, 3 channels"
    count = f"read {len(files)} images ({channels})"
    if data.image_size:
        size = (data.image_size[0], data.image_size[1])
        return size, color_mode, f"{count}, resized to {size[0]}×{size[1]} (data.image_size)"
    if len(sizes) == 1 and max(next(iter(sizes))) <= KEEP_SIZE_UP_TO:
        size = next(iter(sizes))
        return size, color_mode, f"{count}, all {size[0]}×{size[1]}, kept at that size"
    why = (
        "they differ in size"
        if len(sizes) > 1
        else f"they are larger than {KEEP_SIZE_UP_TO} pixels"
    )
    return (
        DEFAULT_SIZE,
        color_mode,
        f"{count}, resized to {DEFAULT_SIZE[0]}×{DEFAULT_SIZE[1]} because {why}; set data.image_size to choose",
    )


def _read_images(paths: list[Path], size: tuple[int, int], color_mode: str) -> np.ndarray:
    import keras

    channels = 1 if color_mode == "grayscale" else 3
    out = np.empty((len(paths), size[0], size[1], channels), dtype=np.float32)
    for i, path in enumerate(paths):
        try:
            image = keras.utils.load_img(
                path, color_mode=color_mode, target_size=size, interpolation="bilinear"
            )
            out[i] = keras.utils.img_to_array(image, data_format="channels_last", dtype="float32")
        except Exception as exc:
            raise DataError(f"cannot be read as an image ({_first_line(exc)})", path) from None
    return out


def _listing(names: list[str], most: int = 6) -> str:
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
