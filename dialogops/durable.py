"""Atomic, durable file writes: a reader sees the old file or the whole new one, never half.

Used for the state, saved plans and report outputs, so all three survive a crash alike.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def fsync_dir(directory: Path) -> None:
    """Make a rename inside `directory` itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: Path, *, newline: str | None = None, mode: int | None = None, sync_dir: bool = False
) -> Iterator[TextIO]:
    """A UTF-8 text file that replaces `path` only when the block finishes without error.

    The data goes to a temp file beside `path`, is fsynced, gets `mode` (when given) and is
    renamed over `path`; with `sync_dir` the folder is fsynced too. On any error the temp
    file is removed and `path` is left as it was.
    """
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def write_atomic(path: Path, text: str, *, mode: int | None = None, sync_dir: bool = False) -> None:
    """Write `text` to `path` through `atomic_writer`."""
    with atomic_writer(path, mode=mode, sync_dir=sync_dir) as handle:
        handle.write(text)
