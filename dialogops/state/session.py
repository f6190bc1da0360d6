"""A lock session's reads and writes, and how it numbers them, for every backend alike.

Each write that changes the state raises the serial; a write that brings every entry back
to what the session began with restores the serial it began with. So a run that changes
nothing in the end (every create refused: a 401, a refused connection) leaves the serial as
it found it, although its `pending` entries were written, and removed, on the way.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Mapping

from dialogops.errors import StateError
from dialogops.state.model import State, StateEntry


def changed_names(old: Mapping[str, StateEntry], new: Mapping[str, StateEntry]) -> set[str]:
    """The campaigns whose entries differ between `old` and `new` (added, changed, removed).

    The model's changes keep every other entry as the same object, so identity decides
    cheaply; an entry rebuilt equal counts as changed, which costs one needless row.
    """
    names = {name for name, entry in new.items() if old.get(name) is not entry}
    names.update(name for name in old if name not in new)
    return names


class Serials:
    """The serial and lineage of each state a lock session writes."""

    def __init__(self, start: State) -> None:
        self._start = start
        self._top = start.serial  # the highest serial this session wrote, never given twice
        self._differs: set[str] = set()  # campaigns whose entries differ from the start's

    def next(self, old: State, new: State) -> tuple[State, frozenset[str]]:
        """`new` as it is to be stored after `old`, and the campaigns that changed.

        No changed campaign and the same lineage: nothing to store, `old` comes back.
        """
        names = changed_names(old.campaigns, new.campaigns)
        lineage = new.lineage or str(uuid.uuid4())
        if not names and lineage == old.lineage:
            return old, frozenset()
        start = self._start.campaigns
        for name in names:
            if new.campaigns.get(name) == start.get(name):
                self._differs.discard(name)
            else:
                self._differs.add(name)
        if not self._differs and self._start.lineage and lineage == self._start.lineage:
            serial = self._start.serial
        else:
            self._top += 1
            serial = self._top
        return dataclasses.replace(new, serial=serial, lineage=lineage), frozenset(names)


class LockSession:
    """The state held under a backend's lock: reads, and writes numbered by `Serials`.

    Writes from several threads are serialised; use `update` for read-modify-write so that
    no thread's change is lost. A backend says how to store a change (`_store`) and how to
    let the lock go (`_let_go`).
    """

    def __init__(self, start: State) -> None:
        self._mutex = threading.RLock()
        self._state = start
        self._serials = Serials(start)
        self._released = False

    def read(self) -> State:
        """The state as last read or written under this lock."""
        with self._mutex:
            return self._state

    def write(self, state: State) -> State:
        """Store `state` durably and return it as stored (unchanged: nothing is stored).

        `state` must derive from the latest `read()`/`write()`: a stale state (an older
        serial) would silently drop another writer's change, so it is refused.
        """
        with self._mutex:
            self._refuse_if_released()
            current = self._state
            if (state.serial, state.lineage) != (current.serial, current.lineage):
                raise StateError(
                    f"refusing to write a stale state (serial {state.serial}, the state is at "
                    f"serial {current.serial})"
                )
            written, changed = self._serials.next(current, state)
            if written is not current:
                self._store(current, written, changed)
                self._state = written
            return written

    def update(self, change: Callable[[State], State]) -> State:
        """Apply `change` to the current state and write the result, atomically across threads."""
        with self._mutex:
            return self.write(change(self._state))

    def restore(self, state: State) -> State:
        """Store `state` as it is, its lineage and serial kept (moving a state between backends)."""
        with self._mutex:
            self._refuse_if_released()
            current = self._state
            changed = frozenset(changed_names(current.campaigns, state.campaigns))
            self._store(current, state, changed)
            self._state = state
            self._serials = Serials(state)
            return state

    def release(self) -> None:
        """Let go of the lock early; later writes are refused."""
        with self._mutex:
            if not self._released:
                self._released = True
                self._let_go()

    def _refuse_if_released(self) -> None:
        if self._released:
            raise StateError("the state lock was already released; nothing was written")

    def _store(self, old: State, new: State, changed: frozenset[str]) -> None:
        """Make `new` durable in place of `old`; `changed` names the entries that differ."""
        raise NotImplementedError

    def _let_go(self) -> None:
        raise NotImplementedError
