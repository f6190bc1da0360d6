"""The built wheel works on its own: installed into a fresh venv outside the repository,
it validates a copied example project and prints its schemas (shipped inside the wheel)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.samples import REPO, example_project


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DIALOG", "PYTHON", "VIRTUAL_ENV"))
    }
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repository(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)], REPO
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("dialogops-*.whl")

    venv = tmp_path / "venv"
    created = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    installed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path
        ).stdout.strip()
    )
    # Dependencies come from this venv without the network; a directory line in a .pth
    # file does not run that directory's own .pth files, so the editable install stays out.
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    project = example_project(tmp_path)

    where = _run(
        [
            str(python),
            "-c",
            "import dialogops, importlib.resources as r; print(dialogops.__file__);"
            "print(r.files('dialogops.schemas').joinpath('campaign.schema.json'))",
        ],
        project,
    )
    module, schemas = where.stdout.split()
    assert Path(module).is_relative_to(venv)
    assert Path(schemas) == Path(module).parent / "schemas" / "campaign.schema.json"

    dialogops = str(venv / "bin" / "dialogops")
    result = _run([dialogops, "validate"], project)
    assert (result.returncode, result.stdout) == (
        0,
        "ok: 1 Campaign and 1 Report manifests valid\n",
    ), result.stderr
    result = _run([dialogops, "schema", "campaign"], project)
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads(
        (REPO / "dialogops" / "schemas" / "campaign.schema.json").read_text()
    )
    (project / "campaigns" / "nps-2099-12.yaml").write_text(
        (REPO / "tests/cases/invalid/attempts-six/campaigns/survey.yaml").read_text()
    )
    shutil.copytree(
        REPO / "tests/cases/invalid/attempts-six/campaigns/data",
        project / "campaigns" / "data",
        dirs_exist_ok=True,
    )
    result = _run([dialogops, "validate", "campaigns/nps-2099-12.yaml"], project)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "campaigns/nps-2099-12.yaml:13:15: spec.schedule.attempts: "
        "6 is greater than the maximum of 5"
    )
