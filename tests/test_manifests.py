"""manifests (the run and discovery): every file found is checked, valid documents are kept
next to invalid ones, no input crashes the loader, missing manifest folders are placed in
dialogops.yaml, and dialogops.yaml is read once per run."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from dialogops import inputfiles, yamlio
from dialogops.cli import main
from dialogops.config import deep_merge, load_config
from dialogops.errors import ManifestError, UsageError
from dialogops.manifests import check_project, discover, load_project
from dialogops.manifests.discovery import MAX_ENTRIES
from tests.conftest import run_cli, run_dialogops
from tests.sample_manifests import new_project, write_campaign
from tests.samples import counting_compiles


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return new_project(tmp_path)


def test_explicit_paths_and_hidden_folders(project: Path) -> None:
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    hidden = project / "campaigns" / ".scratch"
    hidden.mkdir()
    (hidden / "broken.yaml").write_text("not: [valid\n")
    loaded = load_project([Path("campaigns/survey.yaml")], load_config(None, project))
    assert [c.name for c in loaded.campaigns] == ["survey"]
    assert load_project([Path("campaigns")], load_config(None, project)).campaigns


def test_discover_skips_the_config_and_other_suffixes(project: Path) -> None:
    survey = write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    (project / "campaigns" / "dialogops.yaml").write_text("{}\n")
    (project / "campaigns" / "notes.txt").write_text("not a manifest\n")
    other = project / "campaigns" / "more" / "r.yml"
    other.parent.mkdir()
    other.write_text("{}\n")
    config = load_config(None, project)
    found = discover([Path("campaigns"), Path("campaigns/survey.yaml")], config)
    assert found == [other.resolve(), survey.resolve()]
    with pytest.raises(UsageError, match=r"^nowhere: no such file or folder$"):
        discover([Path("nowhere")], config)


def test_a_search_past_its_bound_fails_fast_and_located(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dialogops.manifests.discovery.MAX_ENTRIES", 50)
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    hidden = project / "campaigns" / ".git"
    hidden.mkdir()
    for i in range(100):  # not entered, so not counted
        (hidden / f"{i}.yaml").touch()
    config = load_config(None, project)
    assert discover([], config) == [(project / "campaigns" / "survey.yaml").resolve()]
    many = project / "campaigns" / "many"
    many.mkdir()
    for i in range(50):
        (many / f"{i}.txt").touch()
    message = (
        "campaigns holds more than 50 files and folders; name the folder that holds the manifests"
    )
    (project / "dialogops.yaml").write_text("manifests: [campaigns]\n")
    result = run_cli(["validate"], project)
    assert (result.returncode, result.stdout.splitlines()) == (
        1,
        [f"dialogops.yaml:1:13: manifests[0]: {message}", "1 problem in 1 file"],
    )
    with pytest.raises(UsageError, match=f"^{message}$"):
        discover([Path("campaigns")], config)


def test_links_in_manifest_folders(project: Path) -> None:
    """A link to a folder is not followed (so a loop cannot trap the search); a manifest
    that cannot be read, a dangling link or a loop of links, is a problem, not skipped."""
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    folder = project / "campaigns"
    (folder / "up").symlink_to(project)
    (folder / "gone.yaml").symlink_to(folder / "nowhere.yaml")
    (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
    _, problems = check_project([], load_config(None, project))
    assert [str(p) for p in problems] == [  # named by their real paths, as all manifests
        "campaigns/loop.yaml:1:1: cannot read file: Too many levels of symbolic links",
        "campaigns/nowhere.yaml:1:1: cannot read file: No such file or directory",
    ]


def test_validate_of_proc_neither_hangs_nor_crashes(tmp_path: Path) -> None:
    """/proc changes while it is searched (processes come and go) and can be large."""
    result = run_dialogops(["validate", "/proc"], tmp_path, timeout=60)
    assert (result.returncode, result.stderr) in {
        (0, ""),
        (
            1,
            f"error: /proc holds more than {MAX_ENTRIES:,} files and folders; "
            "name the folder that holds the manifests\n",
        ),
    }


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", "dialogops.yaml:1:1: manifests: campaigns does not exist (the default)"),
        ("manifests: elsewhere\n", "dialogops.yaml:1:12: manifests: elsewhere does not exist"),
        (
            "timezone: UTC\nmanifests: [campaigns, elsewhere]\n",
            "dialogops.yaml:2:24: manifests[1]: elsewhere does not exist",
        ),
    ],
)
def test_missing_manifest_folders_are_placed_in_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(setting)
    if "campaigns," in setting:
        (tmp_path / "campaigns").mkdir()
    _, problems = check_project([], load_config(None, tmp_path))
    assert [str(p) for p in problems] == [expected]


def test_check_project_keeps_valid_documents_next_to_invalid_ones(project: Path) -> None:
    write_campaign(project, "good", "    csv: {path: data/p.csv}")
    write_campaign(project, "bad", "    csv: {path: data/none.csv}")
    loaded, problems = check_project([], load_config(None, project))
    assert [c.name for c in loaded.campaigns] == ["good"]
    assert [p.location.path for p in problems] == ["campaigns/bad.yaml"]
    with pytest.raises(ManifestError, match=r"file 'data/none\.csv' does not exist"):
        load_project([], load_config(None, project))


def test_deep_merge_prefers_the_manifest() -> None:
    merged = deep_merge({"a": {"x": 1, "y": 2}, "l": [1]}, {"a": {"y": 3}, "l": [2]})
    assert merged == {"a": {"x": 1, "y": 3}, "l": [2]}


def test_no_input_crashes_the_loader(project: Path) -> None:
    """Seeded mutations of a valid manifest: each yields records or located problems."""
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    lines = (project / "campaigns" / "survey.yaml").read_text().splitlines()
    values = [
        "",
        "~",
        "[]",
        "{}",
        "-1",
        "1.5",
        "'x'",
        "[1, {a: b}]",
        "09:00",
        "2099-02-30",
        "!!binary aGk=",
        "*x",
        "&x 1",
        '"\\x00"',
        "{path: ../x}",
        "|\n  text",
        "no",
    ]
    rng = random.Random(7)
    config = load_config(None, project)
    for _ in range(300):
        mutated = list(lines)
        for _ in range(rng.randint(1, 3)):
            index = rng.randrange(len(mutated))
            key, colon, _ = mutated[index].partition(":")
            mutated[index] = f"{key}: {rng.choice(values)}" if colon else "- a"
        (project / "campaigns" / "survey.yaml").write_text("\n".join(mutated) + "\n")
        loaded, problems = check_project([], config)
        assert loaded.campaigns or problems
        assert all(p.location.line >= 1 for p in problems)


def test_validate_reads_the_config_once(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The config's defaults and `manifests` entries are placed from the loaded Config,
    so a run that reports problems on both opens dialogops.yaml a single time."""
    (project / "dialogops.yaml").write_text(
        "manifests: [campaigns, gone]\ndefaults: {project_id: 3, phone_id: 0}\n"
    )
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    opened: list[Path] = []
    real_read = inputfiles.read_capped

    def counting_read(path: Path, *args: Any) -> bytes:
        if path.name == "dialogops.yaml":
            opened.append(path)
        return real_read(path, *args)

    monkeypatch.setattr(yamlio, "read_capped", counting_read)
    assert main(["validate"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "dialogops.yaml:1:24: manifests[1]: gone does not exist",
        "dialogops.yaml:2:37: spec.phone_id: 0 is less than the minimum of 1",
        "2 problems in 1 file",
    ]
    assert opened == [project.resolve() / "dialogops.yaml"]


def test_a_template_repeated_through_aliases_is_compiled_once(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A large template repeated by YAML aliases (a hostile pull request): validate would
    # compile it once per alias, seconds each at the size cap.
    template = "{{ row.name | upper ~ (row.name | lower) }}-" * 200 + " {{ row.name }}"
    aliases = "".join(f"    k{i}: *big\n" for i in range(1, 500))
    manifest = write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    manifest.write_text(
        manifest.read_text().replace(
            "    code: 7\n", f'    code: 7\n    k0: &big "{template}"\n{aliases}'
        )
    )
    compiled = counting_compiles(monkeypatch)
    assert main(["validate"]) == 0, capsys.readouterr()
    assert capsys.readouterr().out == "ok: 1 Campaign and 0 Report manifests valid\n"
    # The alias template and the manifest's own `{{ row.name }}`, each once.
    assert sorted(compiled) == sorted([template, "{{ row.name }}"])
