"""variables: template values from dialogops.yaml, var files and --var, later ones winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogops.errors import ManifestError, UsageError
from dialogops.variables import read_var_file, resolve_vars


def test_files_override_the_config_in_turn_and_var_overrides_them_all(tmp_path: Path) -> None:
    first = tmp_path / "common.yaml"
    first.write_text("region: north\nyear: 2099\nlive: true\nslot: 09:00\n", encoding="utf-8")
    second = tmp_path / "prod.yaml"
    second.write_text("region: south\nrate: 1.5\n", encoding="utf-8")
    configured = {"region": "config", "team": "care"}

    values = resolve_vars(configured, [first, second], {"live": "no"})

    assert values == {
        "region": "south",  # the later file wins over the earlier and the config
        "team": "care",  # the config's stands where nothing overrides it
        "year": "2099",
        "live": "no",  # --var wins over every file
        "slot": "09:00",  # a time stays as written
        "rate": "1.5",
    }


def test_a_boolean_reads_as_yaml_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "vars.yaml"
    path.write_text("on: true\noff: false\n", encoding="utf-8")
    assert read_var_file(path) == {"on": "true", "off": "false"}


def test_a_value_that_is_not_a_scalar_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "vars.yaml"
    path.write_text("ok: 1\nlist: [1, 2]\nmap: {a: b}\nnothing:\n", encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        read_var_file(path)
    assert [str(p) for p in info.value.problems] == [
        "vars.yaml:2:1: list: a list is not a var value: give a string, number or boolean",
        "vars.yaml:3:1: map: a mapping is not a var value: give a string, number or boolean",
        "vars.yaml:4:1: nothing: null is not a var value: give a string, number or boolean",
    ]


@pytest.mark.parametrize("text", ["- a\n- b\n", "", "a: 1\n---\nb: 2\n"])
def test_a_file_that_is_not_one_mapping_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "vars.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        read_var_file(path)
    [problem] = info.value.problems
    assert problem.message == "a var file holds one mapping of names to values"
    assert problem.location.path == "vars.yaml"


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        read_var_file(tmp_path / "nope.yaml")
    assert str(info.value) == f"var file {tmp_path / 'nope.yaml'} does not exist"
