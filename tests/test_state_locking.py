"""The lock holder's record and the one check of whether that holder still runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from dialogops.state import LockInfo


def holder(pid: int, host: str) -> LockInfo:
    return LockInfo(pid, host, "ci", "dialogops apply", "2099-01-01T00:00:00Z")


def test_a_holder_is_running_dead_or_elsewhere() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    here = socket.gethostname()
    assert holder(os.getpid(), here).liveness() == "running"
    assert holder(proc.pid, here).liveness() == "dead"
    assert holder(os.getpid(), "runner-7").liveness() == "elsewhere"
    assert holder(0, here).liveness() == "dead"


def test_the_lock_record_reads_back_and_a_partial_one_does_not() -> None:
    info = LockInfo.for_this_process("dialogops state rm nps")
    text = info.to_text()
    assert LockInfo.from_text(text) == info
    assert text.startswith('{\n  "pid": ') and text.endswith("}\n")
    assert LockInfo.from_text(text[:20]) is None
    assert LockInfo.from_text("") is None
    assert LockInfo.unknown().describe() == "an unknown holder (the lock file could not be read)"
