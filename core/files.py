"""Atomic file replacement that leaves no temporary file behind, even when the process is killed.

Imports neither keras nor tensorflow. The new contents go into an anonymous file (Linux O_TMPFILE)
that the kernel frees if the process dies; only when it is complete and on disk does it get a name,
for the instant of a rename. Where the file system cannot do that, a named temporary file beside
the target serves, and `sweep_temporary` removes any that a killed writer left.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from pathlib import Path

TEMP_MARK = ".tmp-"
"""Every temporary name contains this, so a sweep can find the leftovers of a killed writer."""

_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


def replace_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically make `path` hold `data`: readers see the old file or the new one, never a part.

    Raises OSError (a full disk, a read-only folder) with no temporary file left behind.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")
    fd = _anonymous(path.parent)
    if fd is not None:
        try:
            _write_all(fd, data)
            os.fsync(fd)
            named = _give_name(fd, temp)
        finally:
            os.close(fd)
    if fd is None or not named:
        _write_named(temp, data)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_folder(path.parent)


def _write_named(temp: Path, data: bytes) -> None:
    """The fallback: a named temporary file, removed on failure (a sweep removes a killed one's)."""
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def replace_text(path: str | os.PathLike, text: str) -> None:
    replace_bytes(path, text.encode("utf-8"))


def sweep_temporary(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed writer left in `folder`; return what was removed.

    Call it only while holding the folder's run lock: a live writer's temporary file is not stale.
    """
    removed = []
    with contextlib.suppress(OSError):
        for entry in Path(folder).iterdir():
            if entry.name.startswith(".") and TEMP_MARK in entry.name and entry.is_file():
                with contextlib.suppress(OSError):
                    entry.unlink()
                    removed.append(entry)
    return removed


def _anonymous(folder: Path) -> int | None:
    """An unnamed file in `folder` (freed by the kernel if this process dies), or None."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not _CAN_LINK[0]:
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, 0o644)
    except OSError:
        return None


_CAN_LINK = [True]
"""Cleared once linking an anonymous file fails here; named temporary files serve from then on."""


def _give_name(fd: int, name: Path) -> bool:
    """Link an anonymous file into its folder under `name`; False where this system cannot."""
    try:
        os.link(f"/proc/self/fd/{fd}", name, follow_symlinks=True)
        return True
    except OSError:
        pass
    try:
        # linkat(fd, "", …, AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH, which root has.
        linkat = ctypes.CDLL(None, use_errno=True).linkat
        if linkat(fd, b"", _AT_FDCWD, os.fsencode(name), _AT_EMPTY_PATH) == 0:
            return True
    except (OSError, AttributeError):
        pass
    _CAN_LINK[0] = False
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
