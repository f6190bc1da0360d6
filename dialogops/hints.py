"""How dialogops writes a command in a hint, so that the command acts where this one did.

A hint printed by a command run with `--sandbox`, `--env NAME`, `--state FILE` or
`--workspace NAME` repeats them: `dialogops state rm nps --sandbox`, not a command that
would touch another state.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hints:
    """The flags every suggested command repeats."""

    sandbox: bool = False
    environment: str | None = None
    state: str | None = None  # --state FILE, as given
    workspace: str | None = None  # --workspace NAME

    @property
    def flags(self) -> tuple[str, ...]:
        given = (
            ("--env", self.environment),
            ("--state", self.state),
            ("--workspace", self.workspace),
        )
        options = [word for flag, value in given if value is not None for word in (flag, value)]
        return (*options, *(("--sandbox",) if self.sandbox else ()))

    def command(self, words: str) -> str:
        """`dialogops WORDS` with the flags: `command("state rm nps")`."""
        return " ".join(("dialogops", words, *self.flags))


# What a command run without --sandbox and --env suggests.
PLAIN = Hints()
