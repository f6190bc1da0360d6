"""Opening the files a user names for reading: regular files only, and never more than a cap.

A FIFO would block the open (or the read) forever and a device such as /dev/zero never ends,
so every manifest, data file, state file and saved plan is opened here before it is read.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(OSError):
    """The path names a FIFO, a device or a socket (symlinks followed), which is not read.

    An OSError like IsADirectoryError, so every reader's handling of unreadable files words it.
    """

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{kind}, not a regular file", str(path))

    def __str__(self) -> str:
        return str(self.strerror)


class FileTooLargeError(OSError):
    """The file holds more than dialogops reads from a file of its kind (`what`)."""

    def __init__(self, path: Path, limit: int, what: str) -> None:
        message = f"larger than {size_text(limit)}, the most dialogops reads from {what}"
        super().__init__(errno.EFBIG, message, str(path))

    def __str__(self) -> str:
        return str(self.strerror)


def size_text(size: int) -> str:
    """`16 MiB` for a whole number of mebibytes, else the bytes."""
    return f"{size // 2**20} MiB" if size % 2**20 == 0 else f"{size:,} bytes"


def check_regular(path: Path) -> None:
    """Nothing if `path` (symlinks followed) is a regular file; else the OSError opening it
    for reading would meet: FileNotFoundError, IsADirectoryError, NotRegularFileError..."""
    _refuse_special(path, os.stat(path).st_mode)


def open_regular(path: Path) -> io.BufferedReader:
    """`path` open for binary reading; NotRegularFileError unless it is a regular file.

    The kind is checked before opening (so the message names a socket, which cannot be
    opened) and again on the open descriptor, since the path may be swapped in between.
    The open does not block, whatever the file turned out to be.
    """
    check_regular(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        _refuse_special(path, mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """The whole of regular file `path`, `what` (say, "a state file") in messages.

    FileTooLargeError past `limit` bytes, found by reading one byte more than it, so a file
    that grows while it is read, or that reports no size (/proc), is bounded too.
    """
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(path, limit, what)
    return data


def _refuse_special(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise NotRegularFileError(path, kind)
