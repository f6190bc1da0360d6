"""How dialogops writes a command in a hint, so that the command acts where this one did.

A hint printed by a command run with `--sandbox` or `--env NAME` repeats them:
`dialogops state rm nps --sandbox`, not a command that would touch the real state.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hints:
    """The flags every suggested command repeats."""

    sandbox: bool = False
    environment: str | None = None

    @property
    def flags(self) -> tuple[str, ...]:
        env = ("--env", self.environment) if self.environment is not None else ()
        return (*env, *(("--sandbox",) if self.sandbox else ()))

    def command(self, words: str) -> str:
        """`dialogops WORDS` with the flags: `command("state rm nps")`."""
        return " ".join(("dialogops", words, *self.flags))


# What a command run without --sandbox and --env suggests.
PLAIN = Hints()
