"""The state: which campaigns exist on the platform under which ID, kept in a local JSON file.

Reads are lock-free (a write swaps whole files with `os.replace`); writes happen only under
an exclusive lock file, are durable (temp file, fsync, rename, directory fsync) and keep the
previous version as `<state file>.backup`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import getpass
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jsonschema

from dialogops.durable import write_atomic
from dialogops.errors import StateError, UsageError
from dialogops.specs import Config

FORMAT_VERSION = 1
LOCK_POLL_SECONDS = 0.05

Status = Literal["pending", "created", "unknown"]

_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["status", "fingerprint", "phones"],
    "properties": {
        "status": {"enum": ["pending", "created", "unknown"]},
        "id": {"type": "integer", "minimum": 1},
        "fingerprint": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "phones": {"type": "integer", "minimum": 0},
        "created_at": {"type": "string"},
        "started_at": {"type": "string"},
        "history": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "fingerprint", "created_at", "replaced_at"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "fingerprint": {"type": "string"},
                    "created_at": {"type": "string"},
                    "replaced_at": {"type": "string"},
                },
            },
        },
    },
    # A created campaign without its ID could be neither reported on nor recognised.
    "if": {"properties": {"status": {"const": "created"}}},
    "then": {"required": ["id"]},
}

STATE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "serial", "lineage", "campaigns"],
    "properties": {
        "version": {"const": FORMAT_VERSION},
        "serial": {"type": "integer", "minimum": 0},
        "lineage": {"type": "string"},
        "campaigns": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9][a-z0-9._-]{0,99}$"},
            "additionalProperties": _ENTRY_SCHEMA,
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(STATE_SCHEMA)


def utc_now() -> str:
    """The current time as ISO 8601 UTC to the second, the form every state timestamp uses."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Replaced:
    """A campaign that `apply --replace` (or `import` with a new ID) superseded."""

    id: int
    fingerprint: str
    created_at: str
    replaced_at: str


@dataclass(frozen=True)
class StateEntry:
    """What dialogops knows about one campaign on the platform."""

    name: str
    status: Status
    fingerprint: str  # "sha256:<hex>" of the canonical create body
    phones: int
    id: int | None = None
    created_at: str | None = None  # ISO 8601 UTC, set when created
    started_at: str | None = None  # when the create was sent (pending / unknown)
    history: tuple[Replaced, ...] = ()

    @property
    def outcome_unknown(self) -> bool:
        """True when nobody knows whether the platform created it.

        A `pending` entry found on disk belongs to a create whose process died mid-request,
        so it is as unknown as an `unknown` one.
        """
        return self.status in ("pending", "unknown")


@dataclass(frozen=True)
class State:
    """The whole state document; every change returns a new value."""

    lineage: str = ""  # "" until the first write, which sets a uuid4
    serial: int = 0  # incremented by every write
    campaigns: Mapping[str, StateEntry] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def get(self, name: str) -> StateEntry | None:
        return self.campaigns.get(name)

    def put(self, entry: StateEntry) -> State:
        return dataclasses.replace(self, campaigns={**self.campaigns, entry.name: entry})

    def remove(self, name: str) -> State:
        return dataclasses.replace(
            self, campaigns={k: v for k, v in self.campaigns.items() if k != name}
        )

    def owner_of(self, campaign_id: int, *, besides: str) -> str | None:
        """The campaign other than `besides` that has (or had) `campaign_id`, if any."""
        for entry in self.campaigns.values():
            if entry.name != besides and (
                entry.id == campaign_id or any(r.id == campaign_id for r in entry.history)
            ):
                return entry.name
        return None


def entry_to_dict(entry: StateEntry) -> dict[str, Any]:
    """The entry as written in the state file (without its name, which is the key)."""
    data: dict[str, Any] = {"status": entry.status}
    if entry.id is not None:
        data["id"] = entry.id
    data["fingerprint"] = entry.fingerprint
    data["phones"] = entry.phones
    if entry.created_at is not None:
        data["created_at"] = entry.created_at
    if entry.started_at is not None:
        data["started_at"] = entry.started_at
    if entry.history:
        data["history"] = [dataclasses.asdict(r) for r in entry.history]
    return data


def state_to_dict(state: State) -> dict[str, Any]:
    return {
        "version": state.version,
        "serial": state.serial,
        "lineage": state.lineage,
        "campaigns": {
            name: entry_to_dict(state.campaigns[name]) for name in sorted(state.campaigns)
        },
    }


def dumps(state: State) -> str:
    """The state file's text: fixed key order, campaigns by name, one block each."""
    return _document_text(state_to_dict(state))


def _document_text(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _field_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _check_shape(data: object, origin: str) -> None:
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise StateError(
            f"{origin}: state format version {version} was written by a newer "
            f"dialogops; this one reads version {FORMAT_VERSION}: upgrade dialogops"
        )
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        details = "; ".join(f"{_field_path(e)}: {e.message}" for e in errors[:5])
        raise StateError(f"{origin}: not a valid dialogops state file: {details}")


def loads(text: str, origin: str) -> State:
    """Parse a state document; `origin` (the file) names it in every error."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"{origin}: state file is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); the previous version may be in {Path(origin).name}.backup"
        ) from exc
    _check_shape(data, origin)
    campaigns = {
        name: StateEntry(
            name=name,
            status=raw["status"],
            fingerprint=raw["fingerprint"],
            phones=raw["phones"],
            id=raw.get("id"),
            created_at=raw.get("created_at"),
            started_at=raw.get("started_at"),
            history=tuple(Replaced(**r) for r in raw.get("history", ())),
        )
        for name, raw in data["campaigns"].items()
    }
    return State(
        lineage=data["lineage"], serial=data["serial"], campaigns=campaigns, version=data["version"]
    )


@dataclass(frozen=True)
class LockInfo:
    """Who holds the state lock; stored as JSON in the lock file."""

    pid: int
    host: str
    user: str
    command: str
    started_at: str

    def describe(self) -> str:
        if self.pid <= 0:
            return "an unknown holder (the lock file could not be read)"
        who = f"{self.user}@{self.host}"
        return f"pid {self.pid} ({who}, `{self.command}`, since {self.started_at})"

    def is_dead_here(self) -> bool:
        """True when the holder ran on this host and its process no longer exists."""
        return self.host == socket.gethostname() and not _pid_alive(self.pid)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return str(os.getuid())


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

    def read(self) -> State:
        """The state on disk; a missing file is the empty state."""
        text = self.read_text()
        return State() if text is None else loads(text, str(self.path))

    def read_text(self) -> str | None:
        """The state file's text as it is on disk; None when there is no file.

        A missing file whose `.backup` exists is an error: the state was lost (deleted, or
        not restored by a CI cache), and starting empty would create every campaign again.
        """
        try:
            return self.target.read_text(encoding="utf-8")
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
            return LockInfo(**json.loads(self.lock_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0) -> Iterator[StateLock]:
        """Hold the exclusive state lock for the block, waiting up to `timeout` seconds."""
        info = self._acquire(command, timeout)
        try:
            session = StateLock(self, info)
        except BaseException:
            self._release(info)
            raise
        try:
            yield session
        finally:
            session.release()

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
        info = LockInfo(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=_current_user(),
            command=command,
            started_at=utc_now(),
        )
        payload = json.dumps(dataclasses.asdict(info), indent=2) + "\n"
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if self._try_create_lock(payload):
                return info
            holder = self.holder()
            if holder is not None and holder.is_dead_here():
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

    def unlock(self, force: bool = False) -> LockInfo | None:
        """Remove the lock file and return who held it; None when there was no lock.

        A holder that still runs on this host is left alone unless `force`: removing its
        lock would let a second apply run beside it.
        """
        if not self.lock_path.exists():
            return None
        holder = self.holder()
        if (
            not force
            and holder is not None
            and holder.host == socket.gethostname()
            and _pid_alive(holder.pid)
        ):
            raise StateError(
                f"state is locked by {holder.describe()}, which is still running; "
                f"wait for it to finish (or stop it), or use --force"
            )
        try:
            self.lock_path.unlink()
        except FileNotFoundError:
            return None
        return holder or LockInfo(pid=0, host="", user="", command="", started_at="")

    def _release(self, info: LockInfo) -> None:
        if self.holder() == info:
            with contextlib.suppress(FileNotFoundError):
                self.lock_path.unlink()


class StateLock:
    """A session holding the state lock: reads and durable writes of the state file.

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
        self._state = State() if self._text is None else loads(self._text, str(backend.path))
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
                state,
                serial=current.serial + 1,
                lineage=state.lineage or str(uuid.uuid4()),
                version=FORMAT_VERSION,
            )
            document = state_to_dict(written)
            # Entries equal to the current ones were checked when read or written; checking
            # only the changed ones keeps "never write what cannot be read" at a fraction
            # of the cost of checking the whole document on every write.
            changed = {
                name: raw
                for name, raw in document["campaigns"].items()
                if current.campaigns.get(name) != written.campaigns[name]
            }
            _check_shape(
                json.loads(json.dumps({**document, "campaigns": changed})), str(self.backend.path)
            )
            text = _document_text(document)
            self._backup_previous()
            write_atomic(self.backend.target, text, mode=0o600, sync_dir=True)
            self._state, self._text = written, text
            return written

    def update(self, change: Callable[[State], State]) -> State:
        """Apply `change` to the current state and write the result, atomically across threads."""
        with self._mutex:
            return self.write(change(self._state))

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

    def release(self) -> None:
        with self._mutex:
            if not self._released:
                self._released = True
                self.backend._release(self.info)


def backend_for(config: Config) -> LocalBackend:
    """The state backend the project config names."""
    if config.state_backend != "local":
        raise UsageError(
            f"state backend {config.state_backend!r} is not supported by this version of "
            f"dialogops; use `state: {{backend: local}}`"
        )
    return LocalBackend(config.state_path)


def require(state: State, name: str) -> StateEntry:
    """The entry of `name`; a clear error listing the known names when there is none."""
    entry = state.get(name)
    if entry is None:
        known = ", ".join(sorted(state.campaigns)) or "none"
        raise StateError(f"no campaign named {name!r} in state (known: {known})")
    return entry


def forget(state: State, name: str) -> tuple[State, StateEntry]:
    """Remove `name` from the state; returns the new state and the entry that was dropped."""
    entry = require(state, name)
    return state.remove(name), entry


def record_import(
    state: State,
    name: str,
    campaign_id: int,
    fingerprint: str,
    phones: int,
    now: str | None = None,
) -> tuple[State, StateEntry]:
    """Record campaign `name` as created with `campaign_id` (made elsewhere or resolved by hand).

    A different ID recorded earlier for `name` moves to the entry's history; an unknown
    entry keeps the time its create was sent as the creation time.
    """
    now = now or utc_now()
    owner = state.owner_of(campaign_id, besides=name)
    if owner is not None:
        raise StateError(
            f"campaign id {campaign_id} is already recorded for {owner!r}; "
            f"run `dialogops state rm {owner}` first if that was a mistake"
        )
    previous = state.get(name)
    history: tuple[Replaced, ...] = ()
    created_at = now
    if previous is not None:
        history = previous.history
        if previous.status == "created" and previous.id is not None:
            if previous.id == campaign_id:
                created_at = previous.created_at or now
            else:
                history = (
                    *history,
                    Replaced(
                        id=previous.id,
                        fingerprint=previous.fingerprint,
                        created_at=previous.created_at or "",
                        replaced_at=now,
                    ),
                )
        elif previous.started_at is not None:
            created_at = previous.started_at
    entry = StateEntry(
        name=name,
        status="created",
        fingerprint=fingerprint,
        phones=phones,
        id=campaign_id,
        created_at=created_at,
        history=history,
    )
    return state.put(entry), entry
