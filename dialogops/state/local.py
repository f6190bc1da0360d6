"""The local backend: the state in a JSON file beside the project, locked with `<file>.lock`.

Reads are lock-free (a write swaps whole files with `os.replace`); writes happen only under
the lock, are durable (temp file, fsync, rename, directory fsync) and keep the previous
version as `<state file>.backup`. The lock is the kernel's `flock` on the lock file, which
ends with its holder; the file's text (who holds it) is only for the messages of others.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from dialogops.durable import write_atomic
from dialogops.errors import StateError
from dialogops.inputfiles import read_capped
from dialogops.state.codec import MAX_STATE_BYTES, dumps, loads
from dialogops.state.locking import LockInfo
from dialogops.state.model import Listing, State
from dialogops.state.session import LockSession

LOCK_POLL_SECONDS = 0.05


class LocalBackend:
    """The state in a local JSON file, locked with `<file>.lock`."""

    def __init__(self, path: Path) -> None:
        self.path = path  # as the user names it, for messages
        # A state file that is a symlink (say, to a file shared by several checkouts) is
        # written through: the new version, its backup and the lock sit beside the target,
        # so the link stays a link and every checkout sees the same state and lock.
        self.target = Path(os.path.realpath(path))
        self.lock_path = self.target.with_name(self.target.name + ".lock")
        self.backup_path = self.target.with_name(self.target.name + ".backup")

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def lock_location(self) -> str:
        return str(self.lock_path)

    def read(self) -> State:
        """The state on disk; a missing file is the empty state."""
        text = self.read_text()
        return State() if text is None else loads(text, self.location)

    def listing(self) -> Listing:
        return Listing.of(self.read())

    def read_text(self) -> str | None:
        """The state file's text as it is on disk; None when there is no file.

        A missing file whose `.backup` exists is an error: the state was lost (deleted, or
        not restored by a CI cache), and starting empty would create every campaign again.
        """
        try:
            return read_capped(self.target, MAX_STATE_BYTES, "a state file").decode("utf-8")
        except FileNotFoundError:
            if self.backup_path.exists():
                raise StateError(
                    f"{self.path} does not exist, but its backup {self.backup_path} does: the "
                    f"state was lost, and planning without it would create every campaign "
                    f"again. Check the backup, then restore it with `cp {self.backup_path} "
                    f"{self.path}` (or delete the backup to start a new state on purpose)"
                ) from None
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"{self.path}: cannot read the state file: {exc}") from exc

    def exists(self) -> bool:
        """True once the state was started (`state init` or a first write)."""
        return self.target.exists() or self.read_text() is not None

    def holder(self) -> LockInfo | None:
        """Who holds the lock, as its holder wrote; None when unreadable or not yet written."""
        try:
            return LockInfo.from_text(self.lock_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0) -> Iterator[LocalLock]:
        """Hold the exclusive state lock for the block, waiting up to `timeout` seconds.

        The lock is the kernel's (`flock` on the lock file): it ends with the process that
        holds it, however that process ends, so a killed apply leaves nothing to clear.
        """
        fd = self._open_lock_file()
        try:
            self._wait_for(fd, timeout)
            info = LockInfo.for_this_process(command)
            try:
                _write_holder(fd, info.to_text())
            except OSError as exc:  # a full disk: nothing is sent that could not be recorded
                raise StateError(
                    f"{self.lock_path}: cannot write the lock holder's details ({exc.strerror}); "
                    f"nothing was changed or sent"
                ) from None
            session = LocalLock(self, info, fd)
            try:
                yield session
            finally:
                session.release()
        finally:
            os.close(fd)

    def unlock(self, force: bool = False) -> LockInfo | None:
        """None when nobody holds the lock; otherwise an error naming the holder, which runs.

        A kernel lock cannot be left behind by a dead process, and cannot be taken from a
        live one (`force` or not): that process must end.
        """
        fd = self._open_lock_file()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self.holder()
                who = holder.describe() if holder else "a process that is starting up"
                raise StateError(
                    f"state is locked by {who}, which is still running; the lock ends when "
                    f"that process does{' (--force cannot end it)' if force else ''}: wait "
                    f"for it, or stop it"
                ) from None
            os.ftruncate(fd, 0)  # details a killed holder left, for no one
            return None
        finally:
            os.close(fd)

    def _open_lock_file(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            return os.open(self.lock_path, flags, 0o600)
        except FileNotFoundError as exc:
            raise StateError(f"{self.path.parent}: the state folder does not exist") from exc
        except OSError as exc:
            # O_NOFOLLOW answers a link with ELOOP, whose own text would only puzzle.
            reason = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            raise StateError(f"{self.lock_path}: cannot open the lock file: {reason}") from None

    def _wait_for(self, fd: int, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            except OSError as exc:
                raise StateError(f"{self.lock_path}: cannot lock: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = self.holder()
                who = holder.describe() if holder else "a process that is starting up"
                waited = f" (waited {timeout:g}s)" if timeout > 0 else ""
                raise StateError(
                    f"state is locked by {who}{waited}; try again later or pass "
                    f"--lock-timeout SECONDS to wait"
                )
            time.sleep(min(LOCK_POLL_SECONDS, remaining))


def _write_holder(fd: int, text: str) -> None:
    """The holder's details in the lock file, for the messages of those who wait."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode("utf-8"), 0)


class LocalLock(LockSession):
    """The local state file held under its lock: reads and durable writes."""

    def __init__(self, backend: LocalBackend, info: LockInfo, fd: int) -> None:
        self.backend = backend
        self.info = info
        self._fd = fd
        # The file's exact text as last read or written: a write compares the disk with it
        # (cheaper than parsing, and stricter than comparing serials) and backs it up.
        self._text = backend.read_text()
        super().__init__(State() if self._text is None else loads(self._text, backend.location))

    def _store(self, old: State, new: State, changed: frozenset[str]) -> None:
        self._check_disk_unchanged(old)
        # The current entries were checked when read or written: only the others are.
        text = dumps(new, checked=old.campaigns)
        self._backup_previous()
        write_atomic(self.backend.target, text, mode=0o600, sync_dir=True)
        self._text = text

    def _let_go(self) -> None:
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _check_disk_unchanged(self, expected: State) -> None:
        on_disk = self.backend.read_text()
        if on_disk == self._text:
            return
        try:
            found = "no file" if on_disk is None else f"serial {loads(on_disk, '').serial}"
        except StateError:
            found = "a file that is not a valid state"
        raise StateError(
            f"{self.backend.path} was changed by someone else while this command held the "
            f"lock (serial {expected.serial} expected, {found} found); nothing was written"
        )

    def _backup_previous(self) -> None:
        """Keep the file about to be replaced as `.backup`, without copying its data.

        A hard link shares the old file's blocks, already fsynced when it was written; the
        directory fsync after the new state's rename makes the link durable too. Where
        hard links are not supported the text is copied (and fsynced) instead. The link
        keeps the old file's mode: changing it would change the old file, which dialogops
        may not have created.
        """
        if self._text is None:
            return
        backup = self.backend.backup_path
        link = backup.with_name(f".{backup.name}.{uuid.uuid4().hex}.tmp")
        try:
            os.link(self.backend.target, link)
        except OSError:
            write_atomic(backup, self._text, mode=0o600)
            return
        try:
            os.replace(link, backup)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            raise
