"""`dialogops fmt`: one layout for every manifest, comments and meaning kept.

Every manifest of the repository (the example project, the test corpus) and of `init` is
formatted: a second run changes nothing, every comment is still there, every document reads
the same to validation, and every campaign renders to the same fingerprint.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from dialogops.config import load_config
from dialogops.errors import ManifestError, RenderError
from dialogops.fmt import format_file
from dialogops.manifests import check_project
from dialogops.render import render_campaign
from dialogops.scaffold import scaffold
from dialogops.yamlio import load_file
from tests.conftest import run_cli
from tests.samples import REPO, example_project

CASES = REPO / "tests" / "cases"
MANIFESTS = sorted(
    [*CASES.glob("*/*/campaigns/**/*.yaml"), *(REPO / "campaigns").glob("*.yaml")],
    key=str,
)
# The corpus cases that no YAML loader of dialogops accepts: fmt must refuse them as validate does.
REFUSED = {
    "alias-bomb",
    "deep-nesting",
    "duplicate-key",
    "python-object-tag",
    "recursive-alias",
    "tab-indentation",
    "yaml-syntax-error",
    "yaml-integer-too-long",
    "yaml-not-finite",
}


def _comments(text: str) -> collections.Counter[str]:
    return collections.Counter(c.rstrip() for c in re.findall(r"(?:^|\s)(#[^\n]*)", text, re.M))


def _read(path: Path) -> list[Any]:
    documents, problems = load_file(path, path.name)
    assert problems == []
    return [document.data for document in documents]


def _fingerprints(project: Path) -> dict[str, str]:
    """Each campaign's fingerprint, or for one whose rows do not render, why not."""
    loaded, problems = check_project([], load_config(None, project), today=dt.date(2099, 1, 1))
    assert [p for p in problems if p.is_error] == []  # a past date is only a warning
    found = {}
    for campaign in loaded.campaigns:
        try:
            found[campaign.name] = render_campaign(campaign, {}).fingerprint
        except RenderError as exc:
            found[campaign.name] = str(exc)
    return found


def test_the_corpus_is_all_there() -> None:
    assert len(MANIFESTS) > 55
    assert {p.relative_to(CASES).parts[1] for p in MANIFESTS if "invalid" in p.parts} >= REFUSED


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: str(p.relative_to(REPO)))
def test_each_manifest_formats_once_for_good_and_keeps_comments_and_meaning(
    manifest: Path, tmp_path: Path
) -> None:
    copy = tmp_path / manifest.name
    shutil.copy(manifest, copy)
    if (
        manifest.is_relative_to(CASES / "invalid")
        and manifest.relative_to(CASES).parts[1] in REFUSED
    ):
        with pytest.raises(ManifestError):
            format_file(copy)
        return
    before = copy.read_text(encoding="utf-8")
    first = format_file(copy)
    copy.write_text(first.text, encoding="utf-8")
    assert format_file(copy).changed is False  # idempotent
    assert _comments(first.text) == _comments(before)
    assert _read(copy) == _read(manifest)


@pytest.mark.parametrize(
    "case", [*sorted(p.name for p in (CASES / "valid").iterdir()), "example", "init"]
)
def test_formatting_a_project_never_changes_a_fingerprint(case: str, tmp_path: Path) -> None:
    if case == "example":
        project = example_project(tmp_path)
    elif case == "init":
        project = tmp_path / "init"
        scaffold(project, today=dt.date(2099, 1, 1))
    else:
        project = tmp_path / case
        shutil.copytree(CASES / "valid" / case, project)
        (project / "dialogops.yaml").touch()
    before = _fingerprints(project)
    result = run_cli(["fmt"], project)
    assert result.returncode == 0, result.stdout
    assert _fingerprints(project) == before != {}
    again = run_cli(["fmt", "--check"], project)
    assert again.returncode == 0
    assert again.stdout.startswith("0 files would be reformatted, ")


LAYOUT = """\
# the survey
spec:
  schedule:   # when
    end_time: 17:00
    date: 2099-12-01
    start_time: '09:00'
  phones:
    inline:
    - 79991234567
    - +79991234569
    - {name: Bob, phone: 8 999 123-45-68}
  title: Опрос
  phone_id: 5
  start_block_id: 10
  project_id: 1
metadata: {name: survey}
kind: Campaign
apiVersion: dialogops/v1
"""

FORMATTED = """\
# the survey
apiVersion: dialogops/v1
kind: Campaign
metadata: {name: survey}
spec:
  project_id: 1
  title: Опрос
  start_block_id: 10
  phone_id: 5
  schedule:   # when
    date: "2099-12-01"
    start_time: "09:00"
    end_time: "17:00"
  phones:
    inline:
      - "79991234567"
      - "79991234569"
      - {phone: "8 999 123-45-68", name: Bob}
"""


def test_the_canonical_layout(tmp_path: Path) -> None:
    manifest = tmp_path / "campaigns" / "survey.yaml"
    manifest.parent.mkdir()
    manifest.write_text(LAYOUT, encoding="utf-8")
    manifest.chmod(0o640)
    (tmp_path / "dialogops.yaml").touch()
    before = _fingerprints(tmp_path)
    result = run_cli(["fmt"], tmp_path)
    assert (result.returncode, result.stdout) == (
        0,
        "reformatted campaigns/survey.yaml\n1 file reformatted, 0 files already formatted\n",
    )
    assert manifest.read_text(encoding="utf-8") == FORMATTED
    # A phone YAML read as a number is quoted as that number: the `+` it lost shows in the diff.
    assert _fingerprints(tmp_path) == before
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o640


def test_a_modeline_above_the_first_document_marker_is_kept(tmp_path: Path) -> None:
    manifest = tmp_path / "survey.yaml"
    header = "# yaml-language-server: $schema=../.schemas/campaign.schema.json\n---\n"
    manifest.write_text(header + LAYOUT, encoding="utf-8")
    assert format_file(manifest).text == header + FORMATTED


def test_line_endings_and_a_byte_order_mark_are_read_as_text(tmp_path: Path) -> None:
    """The layout is compared with the text as read: CRLF line endings are line endings, so
    a canonical file written with them is left alone; a byte order mark is not text, so a
    file with one is rewritten without it."""
    manifest = tmp_path / "survey.yaml"
    for written, changed in (
        (FORMATTED.replace("\n", "\r\n"), False),
        ("\ufeff" + FORMATTED, True),
        ("\ufeff" + FORMATTED.replace("\n", "\r\n"), True),
    ):
        manifest.write_bytes(written.encode("utf-8"))
        result = format_file(manifest)
        assert (result.text, result.changed) == (FORMATTED, changed), repr(written[:20])


def test_check_lists_the_files_that_would_change_and_changes_nothing(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    manifest = project / "campaigns" / "nps-2099-12.yaml"
    written = manifest.read_text(encoding="utf-8")
    result = run_cli(["fmt", "--check"], project)
    assert (result.returncode, result.stdout) == (
        1,
        "would reformat campaigns/nps-2099-12.yaml\n"
        "1 file would be reformatted, 1 file already formatted\n",
    )
    assert manifest.read_text(encoding="utf-8") == written


def test_a_file_that_does_not_load_is_never_rewritten(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    broken = project / "campaigns" / "broken.yaml"
    broken.write_text("kind: Campaign\nspec: {a: 1, a: 2}\n", encoding="utf-8")
    result = run_cli(["fmt"], project)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:] == [
        "campaigns/broken.yaml:2:14: spec.a: duplicate key 'a' (first defined at line 2)",
        "1 file reformatted, 1 file already formatted, 1 file not formatted: "
        "fix the problems above",
    ]
    assert broken.read_text(encoding="utf-8") == "kind: Campaign\nspec: {a: 1, a: 2}\n"


def test_files_without_a_manifest_are_left_alone(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    notes = project / "campaigns" / "notes.yaml"
    notes.write_text("list:\n- a\n-   b\n", encoding="utf-8")
    run_cli(["fmt"], project)
    assert notes.read_text(encoding="utf-8") == "list:\n- a\n-   b\n"


def test_changed_formats_only_the_manifests_among_the_files(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    workflow = project / "ci.yaml"
    workflow.write_text("kind: Campaign\nspec: {}\n", encoding="utf-8")
    result = run_cli(["fmt", "--changed", "ci.yaml", "campaigns/nps-2099-12.yaml"], project)
    assert result.stdout.splitlines()[0] == "reformatted campaigns/nps-2099-12.yaml"
    assert workflow.read_text(encoding="utf-8") == "kind: Campaign\nspec: {}\n"
