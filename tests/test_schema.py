"""The shipped JSON Schemas: well-formed, documented, printed by `dialogops schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dialogops.schemas import _PATTERN_HINTS, KINDS, load_schema
from tests.conftest import check_jsonschema, run_cli

REPO = Path(__file__).parent.parent


def _properties(schema: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            found.append((f"{where}.{name}", sub))
        for key, sub in schema.items():
            found.extend(_properties(sub, f"{where}/{key}"))
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            found.extend(_properties(sub, f"{where}[{index}]"))
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_2020_12_with_help_on_every_property(kind: str) -> None:
    schema = load_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # Properties named inside `if` are conditions, not fields a user writes.
    undocumented = [
        name
        for name, sub in _properties(schema)
        if "/if" not in name and not (sub.get("title") and sub.get("description"))
    ]
    assert undocumented == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_repository_schema_paths_are_the_packaged_files(kind: str) -> None:
    # schemas/ at the repository root links to the package's files, for editors and CI.
    linked = REPO / "schemas" / f"{kind}.schema.json"
    assert linked.resolve() == (REPO / "dialogops" / "schemas" / f"{kind}.schema.json").resolve()
    assert json.loads(linked.read_text("utf-8")) == load_schema(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_command_prints_the_file(kind: str, tmp_path: Path) -> None:
    result = run_cli(["schema", kind], tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) == load_schema(kind)


def test_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["schema", "campaing"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Usage: dialogops schema [OPTIONS] {campaign|report|config}")
    assert "'campaing' is not one of 'campaign', 'report', 'config'" in result.stderr
    assert "Traceback" not in result.stderr


def test_stock_validator_accepts_the_examples(tmp_path: Path) -> None:
    for kind, file in (
        ("campaign", "campaigns/nps-2099-12.yaml"),
        ("report", "campaigns/nps-2099-12-results.yaml"),
        ("config", "dialogops.yaml"),
    ):
        schema = tmp_path / f"{kind}.json"
        schema.write_text(run_cli(["schema", kind], tmp_path).stdout)
        result = check_jsonschema(schema, REPO / file)
        assert result.returncode == 0, result.stdout + result.stderr


def test_stock_validator_rejects_a_broken_manifest(tmp_path: Path) -> None:
    bad = REPO / "tests/cases/invalid/attempts-six/campaigns/survey.yaml"
    result = check_jsonschema(REPO / "dialogops/schemas/campaign.schema.json", bad)
    assert result.returncode == 1
    assert "6 is greater than the maximum of 5" in result.stdout


def _patterns(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        own = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
        return own.union(*(_patterns(sub) for sub in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_patterns(sub) for sub in schema))
    return set()


def test_every_pattern_has_a_message_in_words() -> None:
    patterns = set().union(*(_patterns(load_schema(kind)) for kind in KINDS))
    assert patterns and patterns <= set(_PATTERN_HINTS)


def test_every_integer_is_bounded_and_every_id_by_the_one_bound() -> None:
    """An integer the API takes cannot pass validate and then overflow the platform: each
    ID is bounded by specs.MAX_ID (a signed 64-bit integer), and every integer has a
    maximum, so none of 29 digits is ever accepted."""
    from dialogops.specs import MAX_ID

    integers = {
        f"{kind}.{name.rsplit('.', 1)[-1]}": sub
        for kind in KINDS
        for name, sub in _properties(load_schema(kind))
        if sub.get("type") == "integer"
    }
    ids = {name: sub["maximum"] for name, sub in integers.items() if name.endswith("id")}
    assert ids == {
        "campaign.project_id": MAX_ID,
        "campaign.start_block_id": MAX_ID,
        "campaign.phone_id": MAX_ID,
        "report.outgoing_campaign_id": MAX_ID,
        "report.scenario_id": MAX_ID,
        "report.project_id": MAX_ID,
        "report.start_block_id": MAX_ID,
        "report.id": MAX_ID,  # a report column's
    }
    unbounded = [name for name, sub in integers.items() if "maximum" not in sub]
    # A limit the config sets for itself: dialogops compares it, never sends it.
    assert unbounded == ["config.max_phones_per_campaign"]
