"""The local backend: durable writes, backups, symlinks and the lock file."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from operator import methodcaller
from pathlib import Path

import pytest

from dialogops.errors import StateError
from dialogops.specs import Config
from dialogops.state import LocalBackend, LockInfo, State, backend_for, dumps, loads
from tests.state_samples import created, wait_for_a_holder


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "dialogops.state.json")


# --- reads -----------------------------------------------------------------------------


def test_missing_file_is_the_empty_state(backend: LocalBackend) -> None:
    assert backend.read() == State()
    assert not backend.path.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "state file is not valid JSON (line 1, column 2"),
        (
            b'{"version": 1, "serial": -1, "lineage": "", "campaigns": {}}',
            "not a valid dialogops state file: serial: Expected `int` >= 0",
        ),
        (b"\xff\xfe\x00", "cannot read the state file"),
    ],
)
def test_unreadable_state_is_an_error_naming_the_file(
    backend: LocalBackend, content: bytes, expected: str
) -> None:
    backend.path.write_bytes(content)
    with pytest.raises(StateError) as info:
        backend.read()
    assert str(info.value).startswith(f"{backend.path}: {expected}")


# --- writes ----------------------------------------------------------------------------


def test_writes_bump_serial_set_lineage_once_and_keep_a_backup(backend: LocalBackend) -> None:
    with backend.lock("test") as lock:
        first = lock.write(lock.read().put(created("a", 1)))
        assert first.serial == 1
        assert len(first.lineage) == 36
        assert not backend.backup_path.exists()
        second = lock.write(first.put(created("b", 2)))
    assert second.serial == 2
    assert second.lineage == first.lineage
    assert backend.read() == second
    assert loads(backend.backup_path.read_text(), "backup") == first
    assert stat.S_IMODE(backend.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(backend.backup_path.stat().st_mode) == 0o600
    leftovers = {p.name for p in backend.path.parent.iterdir()}
    assert leftovers == {
        "dialogops.state.json",
        "dialogops.state.json.backup",
        "dialogops.state.json.lock",
    }


def test_an_invalid_entry_is_refused_before_anything_is_written(backend: LocalBackend) -> None:
    with backend.lock("test") as lock:
        lock.write(lock.read().put(created("a", 1)))
        before = backend.path.read_text()
        with pytest.raises(StateError, match="fingerprint"):
            lock.write(lock.read().put(created("b", 2, fingerprint="md5:x")))
    assert backend.path.read_text() == before


def test_a_stale_state_is_refused(backend: LocalBackend) -> None:
    with backend.lock("test") as lock:
        old = lock.read()
        lock.write(old.put(created("a", 1)))
        with pytest.raises(StateError, match="stale state"):
            lock.write(old.put(created("b", 2)))
    assert set(backend.read().campaigns) == {"a"}


def test_a_file_changed_behind_the_lock_is_not_overwritten(backend: LocalBackend) -> None:
    with backend.lock("test") as lock:
        backend.path.write_text(dumps(State(lineage="other", serial=9)))
        with pytest.raises(StateError, match="changed by someone else"):
            lock.write(lock.read().put(created("a", 1)))
    assert backend.read().lineage == "other"


def test_a_file_rewritten_behind_the_lock_with_the_same_serial_is_not_overwritten(
    backend: LocalBackend,
) -> None:
    with backend.lock("test") as lock:
        first = lock.write(lock.read().put(created("a", 1)))
        edited = dumps(first.put(created("a", 7)))  # same serial and lineage, other content
        backend.path.write_text(edited)
        with pytest.raises(StateError, match=r"changed by someone else .*serial 1 found"):
            lock.write(lock.read().put(created("b", 2)))
    assert backend.path.read_text() == edited


def test_the_backup_is_the_previous_file_and_private_even_if_that_was_not(
    backend: LocalBackend,
) -> None:
    previous = dumps(State(lineage="from-git", serial=4, campaigns={"a": created("a", 1)}))
    backend.path.write_text(previous)
    backend.path.chmod(0o644)
    with backend.lock("test") as lock:
        lock.write(lock.read().put(created("b", 2)))
        # The file it did not create keeps its mode, now under the backup's name.
        assert stat.S_IMODE(backend.backup_path.stat().st_mode) == 0o644
        lock.write(lock.read().put(created("c", 3)))
        assert loads(backend.backup_path.read_text(), "backup").serial == 5
    assert stat.S_IMODE(backend.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(backend.backup_path.stat().st_mode) == 0o600
    # The backup must be a file of its own, not the state file under a second name.
    assert backend.backup_path.stat().st_ino != backend.path.stat().st_ino
    assert backend.read().serial == 6


def test_the_backup_is_copied_where_hard_links_are_not_supported(
    backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_args: object) -> None:
        raise PermissionError("hard links are not supported here")

    with backend.lock("test") as lock:
        first = lock.write(lock.read().put(created("a", 1)))
        monkeypatch.setattr(os, "link", no_links)
        lock.write(first.put(created("b", 2)))
    assert backend.backup_path.read_text() == dumps(first)
    assert stat.S_IMODE(backend.backup_path.stat().st_mode) == 0o600
    leftovers = {p.name for p in backend.path.parent.iterdir()}
    assert leftovers == {
        "dialogops.state.json",
        "dialogops.state.json.backup",
        "dialogops.state.json.lock",
    }


def test_a_missing_state_with_a_backup_is_refused_naming_how_to_restore_it(
    backend: LocalBackend,
) -> None:
    with backend.lock("test") as lock:
        lock.write(lock.read().put(created("a", 1)))
        lock.write(lock.read().put(created("b", 2)))
    backend.path.unlink()

    with pytest.raises(StateError) as caught:
        backend.read()
    message = str(caught.value)
    assert f"{backend.path} does not exist, but its backup {backend.backup_path} does" in message
    assert f"`cp {backend.backup_path} {backend.path}`" in message
    with pytest.raises(StateError, match="does not exist, but its backup"), backend.lock("t"):
        pass
    assert not backend.path.exists()


def test_a_symlinked_state_is_written_through_to_its_shared_target(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "team.state.json"
    shared.parent.mkdir()
    shared.write_text(dumps(State(lineage="team", serial=1, campaigns={"a": created("a", 1)})))
    shared.chmod(0o640)
    links = []
    for checkout in ("one", "two"):
        (tmp_path / checkout).mkdir()
        link = tmp_path / checkout / "dialogops.state.json"
        link.symlink_to(shared)
        links.append(LocalBackend(link))

    with links[0].lock("test") as lock:
        lock.write(lock.read().put(created("b", 2)))

    assert links[0].path.is_symlink() and links[1].path.is_symlink()
    assert set(links[1].read().campaigns) == {"a", "b"}
    assert links[0].backup_path == shared.with_name("team.state.json.backup")
    assert links[1].lock_path == links[0].lock_path == shared.with_name("team.state.json.lock")
    assert stat.S_IMODE(links[0].backup_path.stat().st_mode) == 0o640  # never chmod'ed
    assert sorted(p.name for p in shared.parent.iterdir()) == [
        "team.state.json",
        "team.state.json.backup",
        "team.state.json.lock",
    ]
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["dialogops.state.json"]


def test_updates_from_many_threads_are_all_kept(backend: LocalBackend) -> None:
    with backend.lock("test") as lock:
        threads = [
            threading.Thread(target=lock.update, args=(lambda s, i=i: s.put(created(f"c{i}", i)),))
            for i in range(1, 21)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    state = backend.read()
    assert state.serial == 20
    assert sorted(e.id or 0 for e in state.campaigns.values()) == list(range(1, 21))


READER = """
import sys
from pathlib import Path
from dialogops.errors import StateError
from dialogops.state import LocalBackend
backend, stop = LocalBackend(Path(sys.argv[1])), Path(sys.argv[2])
reads = failures = 0
print("ready", flush=True)
while not stop.exists():
    try:
        backend.read()
        reads += 1
    except StateError as exc:
        failures += 1
        print(exc)
print(reads, failures)
"""


def test_a_reader_never_sees_a_partial_file(backend: LocalBackend, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    with backend.lock("test") as lock:
        lock.update(lambda s: s.put(created("c000", 1000)))
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(backend.path), str(stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout is not None
            assert reader.stdout.readline() == "ready\n"
            for i in range(1, 41):
                lock.update(methodcaller("put", created(f"c{i:03d}", i)))
        finally:
            stop.touch()
            out, _ = reader.communicate(timeout=60)
    reads, failures = out.split()[-2:]
    assert failures == "0", out
    assert int(reads) > 0
    assert backend.read().serial == 41


def test_no_write_after_release(backend: LocalBackend) -> None:
    with backend.lock("test") as lock:
        pass
    with pytest.raises(StateError, match="already released"):
        lock.write(lock.read())


# --- the lock --------------------------------------------------------------------------


def test_lock_file_names_the_holder_and_is_emptied_on_exit(backend: LocalBackend) -> None:
    with backend.lock("dialogops apply") as lock:
        data = json.loads(backend.lock_path.read_text())
        assert data["pid"] == os.getpid()
        assert data["host"] == socket.gethostname()
        assert data["command"] == "dialogops apply"
        assert data["started_at"].endswith("Z")
        assert backend.holder() == lock.info
    assert backend.lock_path.read_text() == ""
    assert backend.holder() is None


def test_lock_is_released_when_the_block_raises(backend: LocalBackend) -> None:
    with pytest.raises(RuntimeError), backend.lock("test"):
        raise RuntimeError("boom")
    with backend.lock("again"):
        pass


def test_lock_is_released_when_the_state_is_corrupt(backend: LocalBackend) -> None:
    backend.path.write_text("{")
    with pytest.raises(StateError, match="not valid JSON"), backend.lock("test"):
        pass
    backend.path.unlink()
    with backend.lock("again"):
        pass


def test_second_lock_fails_naming_the_holder(backend: LocalBackend) -> None:
    with (
        backend.lock("dialogops apply"),
        pytest.raises(StateError) as info,
        backend.lock("dialogops state rm x", timeout=0.2),
    ):
        pass
    message = str(info.value)
    assert f"state is locked by pid {os.getpid()} (" in message
    assert f"@{socket.gethostname()}, `dialogops apply`, since " in message
    assert "(waited 0.2s)" in message


def test_a_waiting_lock_gets_it_when_the_holder_finishes(backend: LocalBackend) -> None:
    state = wait_for_a_holder(backend, release_after=0.2)
    assert set(state.campaigns) == {"a", "b"}
    assert backend.read().serial == 2


HOLD_LOCK = """
import sys, time
from pathlib import Path
from dialogops.state import LocalBackend
with LocalBackend(Path(sys.argv[1])).lock("dialogops apply --var token=..."):
    print("held", flush=True)
    time.sleep(600)
"""


def hold_in_a_process(backend: LocalBackend) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(backend.path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "held\n"
    return proc


def test_a_lock_held_by_a_killed_process_is_free_at_once(backend: LocalBackend) -> None:
    proc = hold_in_a_process(backend)
    with proc:
        try:
            with pytest.raises(StateError, match=rf"locked by pid {proc.pid} .*--var token=\.\.\."):
                backend.unlock()
        finally:
            proc.kill()
    assert backend.holder() is not None  # the killed holder's details are still in the file
    with backend.lock("next", timeout=0) as lock:
        assert backend.holder() == lock.info


def test_details_in_the_lock_file_do_not_make_a_lock(backend: LocalBackend) -> None:
    backend.lock_path.write_text(json.dumps(LockInfo(4242, "runner-7", "ci", "x", "y").__dict__))
    assert backend.unlock() is None
    assert backend.holder() is None
    with backend.lock("test"):
        pass


def test_unlock_of_a_free_lock_and_of_a_live_holder(backend: LocalBackend) -> None:
    assert backend.unlock() is None
    with backend.lock("dialogops apply"):
        with pytest.raises(StateError, match=r"still running.*--force cannot end it"):
            backend.unlock(force=True)
        with pytest.raises(StateError, match="still running; the lock ends when"):
            backend.unlock()


def test_lock_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "nope" / "dialogops.state.json")
    with pytest.raises(StateError, match="the state folder does not exist"), backend.lock("t"):
        pass


# --- configuration ---------------------------------------------------------------------


def test_backend_for_config(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    backend = backend_for(Config(root=tmp_path, path=None, state_path=path))
    assert isinstance(backend, LocalBackend)
    assert backend.path == path
    with pytest.raises(StateError, match=r"DIALOGOPS_STATE_DSN .* is not set"):
        backend_for(Config(root=tmp_path, path=None, state_backend="postgres"))
