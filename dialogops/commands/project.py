"""The project a command works on: the config and state files given on the command line."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from dialogops.config import load_config
from dialogops.specs import Config


@dataclass(frozen=True)
class ProjectFiles:
    """The project config and state file a command was pointed at (`--config`, `--state`)."""

    config: Path | None = None
    state: Path | None = None

    def load_config(self) -> Config:
        """The project config, with `--state` taking precedence over the file's setting."""
        config = load_config(self.config, Path.cwd())
        if self.state is not None:
            config = dataclasses.replace(config, state_path=self.state.resolve())
        return config
