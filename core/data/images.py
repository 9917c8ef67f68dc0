"""Image data: folders of images (one sub-folder per class) read through Keras, and the shared
split and pixel scaling that every image data set goes through.

Keras is imported only when a folder is read, so ``import core.data`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.base import DataError, Dataset, check_classes_task, split
from ..data.rows import ImageRows, take
from ..data.stream import too_big

if TYPE_CHECKING:
    from ..spec import DataSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
DEFAULT_SIZE = (128, 128)
KEEP_SIZE_UP_TO = 128
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
    made_here = valid is None  # then x_train is a copy, which may be scaled in place
    if valid is None:
        train, valid_rows, note = split(
            len(x), y, data.valid_fraction, data.seed, where, unit="images"
        )
        notes.append(note)
        x_train, y_train = take(x, train), y[train]
        x_valid, y_valid = (
            (take(x, valid_rows), y[valid_rows]) if valid_rows is not None else (None, None)
        )
        del x
    else:
        (x_train, y_train), (x_valid, y_valid) = (x, y), valid
    raw_valid = x_valid
    if data.features_scale == "none":
        notes.append(
            f"pixel values left as they are, 0–{pixel_max:g} (features_scale = 'none'): add a Rescaling layer to bring them to 0–1"
        )
    else:
        x_train = _scaled(x_train, 1.0 / pixel_max, in_place=made_here)
        x_valid = None if x_valid is None else _scaled(x_valid, 1.0 / pixel_max)
        notes.append(
            f"pixel values divided by {pixel_max:g} to lie in 0–1 (images are scaled this way unless features_scale = 'none')"
        )
    return Dataset(
        name=name,
        task=task,
        task_reason=reason,
        x_train=_float32(x_train),
        y_train=y_train.astype(np.int32, copy=False),
        x_valid=None if x_valid is None else _float32(x_valid),
        y_valid=None if y_valid is None else y_valid.astype(np.int32, copy=False),
        input_shape=tuple(int(s) for s in x_train.shape[1:]),
        n_classes=len(class_names),
        class_names=list(class_names),
        feature_names=[],
        target_name=target_name,
        notes=notes,
        is_image=True,
        raw_x_valid=raw_valid,
        metadata={"pixel_max": pixel_max, **(metadata or {})},
    )


def _scaled(x: Any, factor: float, in_place: bool = False) -> Any:
    """Pixels multiplied by `factor`: streamed images learn it, arrays are multiplied."""
    if isinstance(x, ImageRows):
        return x.scaled(factor)
    if in_place and x.dtype == np.float32:
        x *= np.float32(factor)
        return x
    return x * np.float32(factor)


def _float32(x: Any) -> Any:
    return x if isinstance(x, ImageRows) else x.astype(np.float32, copy=False)


def load_folder(
    folder: Path,
    data: DataSpec,
    valid_folder: Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> Dataset:
    """A folder with one sub-folder of images per class (or train/ and valid/ folders of those).

    Args:
        valid_folder: A separate folder of validation images, one sub-folder per class
            (data.valid_path); by default a valid/ beside train/, else a seeded split.
        progress: Told the fraction of the files checked so far.
    """
    where = str(folder)
    subfolders = _subfolders(folder)
    names = {p.name.lower(): p for p in subfolders}
    notes: list[str] = []
    train_folder = folder
    if valid_folder is None:
        found = next((names[v] for v in VALID_FOLDERS if v in names), None)
        if "train" in names and found is not None and _subfolders(names["train"]):
            train_folder, valid_folder = names["train"], found
    elif not valid_folder.is_dir():
        raise DataError(
            "data.valid_path is not a folder; expected a folder of validation images, one sub-folder per class",
            valid_folder,
        )
    train_files, classes = _class_files(train_folder)
    order = _class_order(classes, data.classes, train_folder)
    valid_files: list[tuple[Path, int]] = []
    if valid_folder is not None:
        valid_files, valid_classes = _class_files(valid_folder)
        if valid_classes != classes:
            raise DataError(
                f"the class folders differ: {train_folder.name}/ has {_listing(classes)}, {valid_folder.name}/ has {_listing(valid_classes)}",
                where,
            )
        notes.append(
            f"used the folder's own split: {len(train_files)} images in {train_folder.name}/, {len(valid_files)} in {valid_folder.name}/"
        )
    own_valid: tuple[Any, Any] | None = None
    if valid_files and valid_folder is not None and data.valid_fraction == 0:
        notes.append(
            f"no validation split (valid_fraction = 0): the images in {valid_folder.name}/ are not used"
        )
        valid_files, own_valid = [], (None, None)
    files = train_files + valid_files
    size, color_mode, note, unreadable = _plan(files, data, progress)
    notes.insert(0, note)
    if unreadable:
        shown = "; ".join(f"{p.name} ({why})" for p, why in list(unreadable.items())[:3])
        notes.insert(
            1,
            f"skipped {len(unreadable)} file(s) that cannot be read as images: {shown}"
            + (", ..." if len(unreadable) > 3 else ""),
        )
        n_train = sum(1 for f, _ in train_files if f not in unreadable)
        files = [(f, c) for f, c in files if f not in unreadable]
        left = {c for _, c in files}
        for code, name in enumerate(classes):
            if code not in left:
                raise DataError(
                    "has no image that can be read (all its files are damaged or no images); "
                    "add images or remove the folder",
                    train_folder / name,
                )
    else:
        n_train = len(train_files)
    paths = [f for f, _ in files]
    y = order[np.array([c for _, c in files], dtype=np.int64)].astype(np.int32)
    if data.classes is not None:
        classes = list(data.classes)
        notes.append(
            "classes numbered in the order data.classes gives: "
            + ", ".join(f"{name} → {i}" for i, name in enumerate(classes))
        )
    channels = 1 if color_mode == "grayscale" else 3
    streamed, why = _stream_images(len(files) * size[0] * size[1] * channels * 4, data.stream)
    everything = ImageRows(paths, np.arange(len(paths)), size, color_mode, None)
    if streamed:
        notes.insert(1, f"streamed from disk ({why}): images decoded a batch at a time")
        x: Any = everything
    else:
        x = everything[:]
    if valid_files:
        own_valid = (take(x, slice(n_train, None)), y[n_train:])
        x, y = take(x, slice(0, n_train)), y[:n_train]
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
        metadata={"streamed": True} if streamed else None,
    )


def _class_order(found: list[str], wanted: list[str] | None, folder: Path) -> np.ndarray:
    """The class number of each sub-folder (sorted): its place in data.classes when given."""
    if wanted is None:
        return np.arange(len(found))
    if sorted(wanted) != sorted(found):
        raise DataError(
            f"data.classes ({', '.join(wanted)}) must name each class sub-folder once; the folders are {', '.join(found)}",
            folder,
        )
    return np.array([wanted.index(name) for name in found])


def _stream_images(nbytes: int, choice: str | bool) -> tuple[bool, str]:
    if choice is True:
        return True, "stream = true"
    if choice is False:
        return False, "stream = false"
    return too_big(nbytes)


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


def _plan(
    files: list[tuple[Path, int]],
    data: DataSpec,
    progress: Callable[[float], None] | None = None,
) -> tuple[tuple[int, int], str, str, dict[Path, str]]:
    """The (height, width) to read at, the colour mode, a note, and the files that are no
    images with why (their headers are read, not their pixels)."""
    from PIL import Image

    sizes, modes = set(), set()
    unreadable: dict[Path, str] = {}
    for i, (path, _) in enumerate(files):
        try:
            with Image.open(path) as image:
                sizes.add((image.height, image.width))
                modes.add(image.mode)
        except Exception as exc:
            unreadable[path] = _first_line(exc)
        if progress is not None and i % 1000 == 999:
            progress(i / len(files))
    if len(unreadable) == len(files):
        path, why = next(iter(unreadable.items()))
        raise DataError(
            f"none of the {len(files)} files can be read as an image (e.g. {path.name}: {why}); expected {', '.join(IMAGE_SUFFIXES)}",
            path.parent.parent,
        )
    color_mode = "grayscale" if modes <= GRAY_MODES else "rgb"
    channels = "grayscale, 1 channel" if color_mode == "grayscale" else "RGB, 3 channels"
    count = f"read {len(files) - len(unreadable)} images ({channels})"
    if data.image_size:
        size = (data.image_size[0], data.image_size[1])
        return (
            size,
            color_mode,
            f"{count}, resized to {size[0]}×{size[1]} (data.image_size)",
            unreadable,
        )
    if len(sizes) == 1 and max(next(iter(sizes))) <= KEEP_SIZE_UP_TO:
        size = next(iter(sizes))
        return size, color_mode, f"{count}, all {size[0]}×{size[1]}, kept at that size", unreadable
    if max(max(s) for s in sizes) <= KEEP_SIZE_UP_TO:
        size = (max(h for h, _ in sizes), max(w for _, w in sizes))
        return (
            size,
            color_mode,
            f"{count}, resized to {size[0]}×{size[1]} (the largest height and width among them), "
            "as they differ in size; set data.image_size to choose",
            unreadable,
        )
    return (
        DEFAULT_SIZE,
        color_mode,
        f"{count}, resized to {DEFAULT_SIZE[0]}×{DEFAULT_SIZE[1]} as they are larger than that, as the "
        "course's image_dataset_from_directory(image_size=[128, 128]); set data.image_size to choose",
        unreadable,
    )


def _listing(names: list[str], most: int = 6) -> str:
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
