"""The local backend: the state in a JSON file beside the project, locked with `<file>.lock`.

Reads are lock-free (a write swaps whole files with `os.replace`); writes happen only under
the lock, are durable (temp file, fsync, rename, directory fsync) and keep the previous
version as `<state file>.backup`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from dialogops.durable import write_atomic
from dialogops.errors import StateError
from dialogops.inputfiles import read_capped
from dialogops.state.codec import MAX_STATE_BYTES, dumps, loads
from dialogops.state.locking import LockInfo
from dialogops.state.model import State

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

    def holder(self) -> LockInfo | None:
        """Who holds the lock now; None when unlocked or the lock file is still being written."""
        try:
            return LockInfo.from_text(self.lock_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0) -> Iterator[LocalLock]:
        """Hold the exclusive state lock for the block, waiting up to `timeout` seconds."""
        info = self._acquire(command, timeout)
        try:
            session = LocalLock(self, info)
        except BaseException:
            self._release(info)
            raise
        try:
            yield session
        finally:
            session.release()

    def unlock(self, force: bool = False) -> LockInfo | None:
        """Remove the lock file and return who held it; None when there was no lock.

        A holder that still runs on this host is left alone unless `force`: removing its
        lock would let a second apply run beside it.
        """
        if not self.lock_path.exists():
            return None
        holder = self.holder()
        if not force and holder is not None and holder.liveness() == "running":
            raise StateError(
                f"state is locked by {holder.describe()}, which is still running; "
                f"wait for it to finish (or stop it), or use --force"
            )
        try:
            self.lock_path.unlink()
        except FileNotFoundError:
            return None
        return holder or LockInfo.unknown()

    def _try_create_lock(self, payload: str) -> bool:
        try:
            fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        except FileNotFoundError as exc:
            raise StateError(f"{self.path.parent}: the state folder does not exist") from exc
        except OSError as exc:
            raise StateError(f"{self.lock_path}: cannot create the lock file: {exc}") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def _acquire(self, command: str, timeout: float) -> LockInfo:
        info = LockInfo.for_this_process(command)
        payload = info.to_text()
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if self._try_create_lock(payload):
                return info
            holder = self.holder()
            if holder is not None and holder.liveness() == "dead":
                raise StateError(
                    f"state is locked by {holder.describe()}, but that process no longer runs: "
                    f"the lock was left by a dead process. Check the state, then run "
                    f"`dialogops state unlock` to remove {self.lock_path.name}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                who = holder.describe() if holder else f"an unreadable lock file {self.lock_path}"
                waited = f" (waited {timeout:g}s)" if timeout > 0 else ""
                raise StateError(
                    f"state is locked by {who}{waited}; try again later or pass "
                    f"--lock-timeout SECONDS to wait"
                )
            time.sleep(min(LOCK_POLL_SECONDS, remaining))

    def _release(self, info: LockInfo) -> None:
        if self.holder() == info:
            with contextlib.suppress(FileNotFoundError):
                self.lock_path.unlink()


class LocalLock:
    """The local state file held under its lock: reads and durable writes.

    Writes from several threads are serialised; use `update` for read-modify-write so that
    no thread's change is lost.
    """

    def __init__(self, backend: LocalBackend, info: LockInfo) -> None:
        self.backend = backend
        self.info = info
        self._mutex = threading.RLock()
        # The file's exact text as last read or written: a write compares the disk with it
        # (cheaper than parsing, and stricter than comparing serials) and backs it up.
        self._text = backend.read_text()
        self._state = State() if self._text is None else loads(self._text, backend.location)
        self._released = False

    def read(self) -> State:
        """The state as last read or written under this lock."""
        with self._mutex:
            return self._state

    def write(self, state: State) -> State:
        """Write `state` durably as the next serial and return it as written.

        `state` must derive from the latest `read()`/`write()`: a stale state (an older
        serial) would silently drop another writer's change, so it is refused.
        """
        with self._mutex:
            if self._released:
                raise StateError("the state lock was already released; nothing was written")
            current = self._state
            if (state.serial, state.lineage) != (current.serial, current.lineage):
                raise StateError(
                    f"refusing to write a stale state (serial {state.serial}, the file is at "
                    f"serial {current.serial})"
                )
            self._check_disk_unchanged(current)
            written = dataclasses.replace(
                state, serial=current.serial + 1, lineage=state.lineage or str(uuid.uuid4())
            )
            # The current entries were checked when read or written: only the others are.
            text = dumps(written, checked=current.campaigns)
            self._backup_previous()
            write_atomic(self.backend.target, text, mode=0o600, sync_dir=True)
            self._state, self._text = written, text
            return written

    def update(self, change: Callable[[State], State]) -> State:
        """Apply `change` to the current state and write the result, atomically across threads."""
        with self._mutex:
            return self.write(change(self._state))

    def release(self) -> None:
        with self._mutex:
            if not self._released:
                self._released = True
                self.backend._release(self.info)

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
