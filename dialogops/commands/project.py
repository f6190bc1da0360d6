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
    """`--config`, `--env`, and where the state is: `--state` or `--workspace`, or the
    sandbox's (`--sandbox`)."""

    config: Path | None = None
    state: Path | None = None
    env: str | None = None
    sandbox: bool = False
    workspace: str | None = None

    def load_config(self) -> Config:
        """The project config in its environment, with `--state` and `--workspace` taking
        precedence."""
        config = load_config(self.config, Path.cwd(), self.env)
        if self.state is not None:
            config = dataclasses.replace(config, state_path=self.state.resolve())
        if self.workspace is not None:
            config = dataclasses.replace(config, state_workspace=self.workspace)
        return config

    @property
    def hints(self) -> Hints:
        """Hints repeat `--env`, `--state`, `--workspace` and `--sandbox`, so that they act
        where this command did."""
        return Hints(
            sandbox=self.sandbox,
            environment=self.env,
            state=None if self.state is None else str(self.state),
            workspace=self.workspace,
        )
