"""Fingerprints, entries and checks shared by the state tests of every backend."""

from __future__ import annotations

import threading

from dialogops.state import Backend, State, StateEntry

FP_A = "sha256:" + "a" * 64
FP_B = "sha256:" + "b" * 64


def created(name: str, id: int, fingerprint: str = FP_A, phones: int = 3) -> StateEntry:
    return StateEntry(
        name, "created", fingerprint, phones, id=id, created_at="2099-01-01T00:00:00Z"
    )


def wait_for_a_holder(backend: Backend, release_after: float) -> State:
    """Lock as a second holder while a first one holds the lock and writes `a`, then lets
    go after `release_after` seconds; the state the second one wrote (`a` and `b`)."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with backend.lock("first") as lock:
            lock.write(lock.read().put(created("a", 1)))
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    threading.Timer(release_after, release.set).start()
    with backend.lock("second", timeout=30) as lock:
        state = lock.write(lock.read().put(created("b", 2)))
    holder.join()
    return state
