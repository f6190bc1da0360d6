"""The project a command works on: the config, environment and state given on the command line."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from dialogops.config import load_config
from dialogops.hints import Hints
from dialogops.specs import Config


@dataclass(frozen=True)
class ProjectFiles:
    """`--config`, `--env`, and where the state is: `--state`, or the sandbox's (`--sandbox`)."""

    config: Path | None = None
    state: Path | None = None
    env: str | None = None
    sandbox: bool = False

    def load_config(self) -> Config:
        """The project config in its environment, with `--state` taking precedence."""
        config = load_config(self.config, Path.cwd(), self.env)
        if self.state is not None:
            config = dataclasses.replace(config, state_path=self.state.resolve())
        return config

    @property
    def hints(self) -> Hints:
        """Hints repeat `--env` and `--sandbox`, so that they act where this command did."""
        return Hints(sandbox=self.sandbox, environment=self.env)
