"""yamlio: safe loading, marks for every key and value, and refusal of hostile YAML."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from dialogops import yamlio, yamlparse
from dialogops.errors import Location, Problem
from dialogops.yamlio import Document, display_path, format_field, load_file, load_text


def _load(text: str) -> tuple[list[Document], list[Problem]]:
    return load_text(text, Path("m.yaml"), "m.yaml")


def test_values_and_keys_have_their_positions() -> None:
    docs, problems = _load("a:\n  b: [1, {c: x}]\n")
    assert problems == []
    doc = docs[0]
    assert doc.data == {"a": {"b": [1, {"c": "x"}]}}
    assert doc.at(("a", "b", 1, "c")) == Location("m.yaml", 2, 14)
    assert doc.key_at(("a", "b")) == Location("m.yaml", 2, 3)
    assert doc.at(("a", "missing", "deeper")) == Location("m.yaml", 2, 3)


def test_times_and_dates_stay_as_written() -> None:
    docs, _ = _load("t: 09:00\nd: 2099-12-01\nw: 2099-12-01T10:00:00+05:00\nn: 0x10\n")
    assert docs[0].data == {
        "t": "09:00",
        "d": "2099-12-01",
        "w": "2099-12-01T10:00:00+05:00",
        "n": 16,
    }


def test_yaml_1_1_sexagesimal_is_the_time_the_user_wrote() -> None:
    docs, _ = _load("%YAML 1.1\n---\nt: 09:00\nflag: yes\n")
    assert docs[0].data == {"t": "09:00", "flag": True}


def test_multiple_documents_and_empty_ones() -> None:
    docs, problems = _load("a: 1\n---\n---\nb: 2\n")
    assert problems == []
    assert [d.data for d in docs] == [{"a": 1}, None, {"b": 2}]
    assert docs[2].location == Location("m.yaml", 4, 1)


def test_duplicate_key_names_both_lines() -> None:
    _, problems = _load("x:\n  a: 1\n  a: 2\n")
    assert [str(p) for p in problems] == [
        "m.yaml:3:3: x.a: duplicate key 'a' (first defined at line 2)"
    ]


def test_merge_keys_keep_explicit_values() -> None:
    docs, problems = _load("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n")
    assert problems == []
    assert docs[0].data["m"] == {"x": 1, "y": 3}
    assert docs[0].key_at(("m", "y")) == Location("m.yaml", 4, 3)


def test_object_tags_are_refused() -> None:
    docs, problems = _load("a: !!python/object/apply:os.system ['echo pwned']\n")
    assert docs == []
    assert [str(p) for p in problems] == [
        "m.yaml:1:4: YAML tag '!!python/object/apply:os.system' is not allowed here"
    ]


def test_billion_laughs_is_refused_unexpanded(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        name, prev = chr(97 + i), chr(96 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    built: list[object] = []
    monkeypatch.setattr(yamlio._Builder, "build", lambda *args: built.append(args))
    docs, problems = _load("\n".join(lines) + "\n")
    assert docs == []
    assert str(problems[0]) == (
        "m.yaml:1:1: aliases expand this document beyond 10000 nodes (a YAML alias bomb?); "
        "refusing to load it"
    )
    assert built == []  # refused before a single node of the 10**10 was built


def test_deep_nesting_is_refused_before_the_stack_runs_out() -> None:
    depth = yamlparse.MAX_DEPTH
    docs, problems = _load("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert docs == []
    assert [str(p) for p in problems] == [
        f"m.yaml:1:{depth + 3}: YAML nested deeper than {depth} levels; refusing to load it"
    ]
    docs, problems = _load("a: " + "[" * (depth - 2) + "1" + "]" * (depth - 2) + "\n")
    assert problems == []


def test_aliases_cannot_chain_past_the_depth_limit() -> None:
    # Each anchor nests 40 levels around the previous one: small, but 480 levels deep.
    lines = ["- &a0 1"]
    for i in range(1, 13):
        lines.append(f"- &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40)
    docs, problems = _load("\n".join(lines) + "\n")
    assert docs == []
    assert [(p.location.line, p.message) for p in problems] == [
        (
            3,
            f"YAML nested deeper than {yamlparse.MAX_DEPTH} levels once aliases are expanded; "
            "refusing to load it",
        )
    ]


def test_huge_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_FILE_BYTES", 2**20)
    path = tmp_path / "m.yaml"
    path.write_text("phones:\n" + "  - '+79990000000'\n" * 60_000)
    docs, problems = load_file(path, "m.yaml")
    assert docs == []
    assert [str(p) for p in problems] == [
        "m.yaml:1:1: file is larger than 1 MiB, the most dialogops reads from a YAML file "
        "(put long phone lists in a CSV or JSONL file)"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9" * 4301, "an integer of more than 4,300 digits, longer than dialogops reads"),
        ("-" + "9" * 4301, "an integer of more than 4,300 digits, longer than dialogops reads"),
        # Few characters, but more than 4,300 digits once written in decimal.
        ("0x" + "f" * 4000, "an integer of more than 4,300 digits, longer than dialogops reads"),
        (".nan", ".nan is not a finite number"),
        ("-.inf", "-.inf is not a finite number"),
        ("1e400", "1e400 is not a finite number"),
    ],
    ids=["digits", "negative", "hexadecimal", "nan", "infinity", "overflow"],
)
def test_numbers_python_cannot_carry_are_refused_where_written(value: str, message: str) -> None:
    docs, problems = _load(f"api:\n  timeout_seconds: {value}\n")
    assert docs == []
    assert [str(p) for p in problems] == [f"m.yaml:2:20: api.timeout_seconds: {message}"]


def test_numbers_at_the_bounds_are_read() -> None:
    docs, problems = _load(f"a: {'9' * 4300}\nb: 1e308\nc: 0x{'f' * 3000}\n")
    assert problems == []
    assert docs[0].data == {"a": 10**4300 - 1, "b": 1e308, "c": 16**3000 - 1}


def test_a_lower_python_digit_limit_is_a_problem_not_a_crash() -> None:
    import sys

    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)  # what PYTHONINTMAXSTRDIGITS=640 does
    try:
        _, problems = _load(f"a: {'9' * 700}\n")
    finally:
        sys.set_int_max_str_digits(limit)
    assert [p.message for p in problems] == [
        "an integer of more than 4,300 digits, longer than dialogops reads"
    ]


def test_recursive_alias_is_refused() -> None:
    _, problems = _load("a: &a [*a]\n")
    assert problems[0].message == "recursive YAML alias: an anchor refers to itself"


def test_syntax_error_and_tab_have_positions() -> None:
    _, problems = _load("a: [1\nb: 2\n")
    assert problems[0].location.line == 2
    _, problems = _load("a:\n\tb: 1\n")
    assert str(problems[0]) == (
        "m.yaml:2:1: YAML syntax error: a tab character; YAML indentation must use spaces"
    )


def test_non_utf8_manifest_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes("a: 1\nb: 'Борис'\n".encode("cp1251"))
    docs, problems = load_file(path, "m.yaml")
    assert docs == []
    assert str(problems[0]) == "m.yaml:2:5: file is not valid UTF-8"


def test_format_field_and_display_path(tmp_path: Path) -> None:
    assert format_field(("spec", "columns", 0, "filter")) == "spec.columns[0].filter"
    assert display_path(tmp_path / "a" / "b.yaml", tmp_path) == "a/b.yaml"
    assert display_path(Path("/elsewhere/x.yaml"), tmp_path) == "/elsewhere/x.yaml"


def _read(text: str) -> tuple[list[tuple[int, str]], list[str]]:
    documents, problems = _load(text)
    return [(d.index, repr(d.data)) for d in documents], [str(p) for p in problems]


def test_libyaml_reads_every_mutated_manifest_as_ruamel_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seeded character mutations of the shipped and valid-case manifests: the same data and
    the same problems, whichever parser composed the nodes (a pattern that matches every
    text sends each to ruamel's parser)."""
    repo = Path(__file__).parents[1]
    seeds = [
        path.read_text("utf-8")
        for path in sorted(repo.glob("campaigns/*.yaml"))
        + sorted(repo.glob("tests/cases/valid/*/campaigns/*.yaml"))
    ]
    alphabet = ":-[]{},&*!|>'\"#%@` \t\n?\\é\u0418\x00\x85\ufeff\u2028019az.~="
    rng = random.Random(11)
    texts = []
    for _ in range(300):
        text = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text))
            text[at : at + rng.randint(0, 1)] = rng.choice(alphabet)
        texts.append("".join(text))
    read_by_libyaml = [_read(text) for text in texts]
    monkeypatch.setattr(yamlparse, "_READ_OTHERWISE_BY_LIBYAML", re.compile(""))
    assert [_read(text) for text in texts] == read_by_libyaml


def test_what_libyaml_reads_otherwise_is_read_by_ruamel() -> None:
    """libyaml would read these as `{"a": "x\tb"}`, `{"x": 1, "None": 2}` and a sexagesimal."""
    tab = "YAML syntax error: a tab character; YAML indentation must use spaces"
    assert _read("a: x\tb\n") == ([], [f"m.yaml:1:5: {tab}"])
    simple_key = "could not find expected ':' (while scanning a simple key)"
    assert _read("x: 1\n&b: 2\n") == ([], [f"m.yaml:3:1: YAML syntax error: {simple_key}"])
    assert _read("%YAML 1.1\n---\nt: 09:00\n") == ([(0, "{'t': '09:00'}")], [])
