"""Who holds the state lock: the details a holder records for the messages of others.

The lock itself is the kernel's (local backend) or the database's (postgres): it ends with
its holder, so these details never decide whether a lock is held.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass

import msgspec

from dialogops.state.model import utc_now


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

    def describe(self) -> str:
        if self.pid <= 0:
            return "an unknown holder (the lock file could not be read)"
        who = f"{self.user}@{self.host}"
        return f"pid {self.pid} ({who}, `{self.command}`, since {self.started_at})"

    def to_text(self) -> str:
        return msgspec.json.format(msgspec.json.encode(self), indent=2).decode() + "\n"

    @classmethod
    def from_text(cls, text: str) -> LockInfo | None:
        """The holder written in `text`; None when it is not (yet) a whole lock record."""
        try:
            return msgspec.json.decode(text, type=cls)
        except msgspec.DecodeError:
            return None


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return str(os.getuid())
