"""Who holds the state lock, and whether that holder still runs.

Acquiring a lock and `state unlock` both judge a holder with `LockInfo.liveness`, so they
always agree on which locks were left by a dead process.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from typing import Literal

import msgspec

from dialogops.state.model import utc_now

# "elsewhere": the holder ran on another host, whose processes cannot be checked from here.
Liveness = Literal["running", "dead", "elsewhere"]


@dataclass(frozen=True)
class LockInfo:
    """Who holds the state lock; kept beside the state for messages."""

    pid: int
    host: str
    user: str
    command: str
    started_at: str

    @classmethod
    def for_this_process(cls, command: str) -> LockInfo:
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=_current_user(),
            command=command,
            started_at=utc_now(),
        )

    @classmethod
    def unknown(cls) -> LockInfo:
        """The holder of a lock whose details could not be read."""
        return cls(pid=0, host="", user="", command="", started_at="")

    def describe(self) -> str:
        if self.pid <= 0:
            return "an unknown holder (the lock file could not be read)"
        who = f"{self.user}@{self.host}"
        return f"pid {self.pid} ({who}, `{self.command}`, since {self.started_at})"

    def liveness(self) -> Liveness:
        if self.host != socket.gethostname():
            return "elsewhere"
        return "running" if _pid_alive(self.pid) else "dead"

    def to_text(self) -> str:
        return msgspec.json.format(msgspec.json.encode(self), indent=2).decode() + "\n"

    @classmethod
    def from_text(cls, text: str) -> LockInfo | None:
        """The holder written in `text`; None when it is not (yet) a whole lock record."""
        try:
            return msgspec.json.decode(text, type=cls)
        except msgspec.DecodeError:
            return None


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
