"""datafiles: root confinement, and the one inspector of phone files: each kind of problem,
the manifest field it belongs to, and the same words from `validate` and from rendering."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dialogops import datafiles
from dialogops.cli import main
from dialogops.datafiles import (
    DataFileError,
    FileProblem,
    Inspection,
    Kind,
    csv_rows,
    existing_file,
    inspect,
    resolve_inside,
)
from dialogops.errors import Location, RenderError
from dialogops.sources import iter_rows
from dialogops.specs import CsvSource, JsonlSource
from tests.sample_manifests import write_campaign

WHERE = Location("campaigns/survey.yaml", 12, 17)


def test_paths_are_confined_to_the_project_root(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "campaigns").mkdir(parents=True)
    os.symlink(tmp_path, root / "campaigns" / "up")
    base = root / "campaigns"
    assert resolve_inside(root, base, "data/p.csv") == base.resolve() / "data" / "p.csv"
    refused = [
        ("../../x.csv", Kind.OUTSIDE, f"'../../x.csv' resolves outside the project root {root}"),
        ("up/x.csv", Kind.OUTSIDE, f"'up/x.csv' resolves outside the project root {root}"),
        ("/etc/passwd", Kind.PATH, "'/etc/passwd' must be a path relative to the manifest"),
        ("a\x00b", Kind.PATH, "a path cannot contain a NUL character"),
    ]
    for written, kind, message in refused:
        with pytest.raises(DataFileError) as info:
            resolve_inside(root, base, written)
        assert info.value.problem == FileProblem(kind, message)
    inside = str(root / "out" / "r.json")
    assert resolve_inside(root, root, inside, absolute_ok=True) == root.resolve() / "out" / "r.json"


def test_existing_file_must_be_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(DataFileError) as info:
        existing_file(tmp_path, tmp_path, "data/none.csv")
    assert info.value.problem == FileProblem(Kind.PATH, "file 'data/none.csv' does not exist")
    with pytest.raises(DataFileError) as info:
        existing_file(tmp_path, tmp_path, "data")
    assert info.value.problem == FileProblem(Kind.PATH, "'data' is not a file")


def test_csv_rows_start_lines_skip_empty_rows(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('\nphone;note\n+79991234567;"two\nlines"\n\n+79991234568;x\n')
    assert list(csv_rows(path, "p.csv")) == [
        (2, ["phone", "note"]),
        (3, ["+79991234567", "two\nlines"]),
        (6, ["+79991234568", "x"]),
    ]


def _file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_usable_file_is_described(tmp_path: Path) -> None:
    csv_file = _file(tmp_path, "p.csv", b"\nname,phone\nAnn,+79991234567\n,\nBob,+79991234568\n")
    assert inspect(CsvSource(csv_file, WHERE), "data/p.csv", count_rows=True) == Inspection(
        ("name", "phone"), 3
    )
    jsonl = _file(tmp_path, "p.jsonl", b'{"phone": "1", "a": 2}\n\n{"phone": "2"}\n')
    assert inspect(JsonlSource(jsonl, WHERE), "data/p.jsonl", count_rows=False) == Inspection(
        ("phone", "a"), None
    )


PROBLEMS = [
    (
        "unknown encoding",
        CsvSource,
        b"phone\n+79991234567\n",
        {"encoding": "klingon"},
        FileProblem(Kind.ENCODING, "unknown encoding 'klingon'"),
    ),
    (
        "undecodable byte",
        CsvSource,
        "phone\n+79991234567;Борис\n".encode("cp1251"),
        {},
        FileProblem(
            Kind.ENCODING,
            "data/p line 2 is not valid utf-8 (declare the file's real encoding, e.g. cp1251)",
        ),
    ),
    (
        "empty csv",
        CsvSource,
        b"\n\n",
        {},
        FileProblem(Kind.EMPTY, "data/p is empty: a CSV phone file needs a header row"),
    ),
    (
        "empty jsonl",
        JsonlSource,
        b"\n",
        {},
        FileProblem(
            Kind.EMPTY, "data/p is empty: a JSONL phone file needs one JSON object per line"
        ),
    ),
    (
        "csv column",
        CsvSource,
        b"phnoe,name\n+79991234567,Ann\n",
        {},
        FileProblem(
            Kind.COLUMN,
            "data/p has no column 'phone' (did you mean 'phnoe'?) (its columns: 'phnoe', 'name')",
        ),
    ),
    (
        "jsonl key",
        JsonlSource,
        b'\n{"tel": "+79991234567"}\n',
        {},
        FileProblem(Kind.COLUMN, "data/p line 2 has no key 'phone'"),
    ),
    (
        "not json",
        JsonlSource,
        b'{"phone": \n',
        {},
        FileProblem(Kind.UNREADABLE, "data/p line 1 is not valid JSON: Expecting value"),
    ),
    (
        "not an object",
        JsonlSource,
        b'["+79991234567"]\n',
        {},
        FileProblem(Kind.UNREADABLE, "data/p line 1 is not a JSON object"),
    ),
    (
        "broken csv",
        CsvSource,
        b"phone\n" + b"x" * 200_000 + b"\n",
        {},
        FileProblem(
            Kind.UNREADABLE,
            "data/p line 2 is not readable as CSV: field larger than field limit (131072)",
        ),
    ),
    (
        "csv row too long",
        CsvSource,
        b"phone,x\n1,2\n" + b"x," * 600_000 + b"\n",
        {},
        FileProblem(
            Kind.UNREADABLE,
            "data/p line 3 is a row longer than 1,048,576 characters, the most dialogops reads",
        ),
    ),
    (
        # Quoted line breaks make one row of many short lines: the row is bounded too.
        "csv row of many lines",
        CsvSource,
        b"phone,x\n1," + b'"a\nb",' * 300_000 + b"\n",
        {},
        FileProblem(
            Kind.UNREADABLE,
            "data/p line 2 is a row longer than 1,048,576 characters, the most dialogops reads",
        ),
    ),
    (
        "jsonl line too long",
        JsonlSource,
        b'{"phone": "1"}\n{"phone": "' + b"1" * 2**20 + b'"}\n',
        {},
        FileProblem(
            Kind.UNREADABLE,
            "data/p line 2 is a row longer than 1,048,576 characters, the most dialogops reads",
        ),
    ),
    (
        "jsonl nested deeper than yaml may",
        JsonlSource,
        b'{"phone": "1", "x": ' + b"[" * 64 + b"]" * 64 + b"}\n",
        {},
        FileProblem(Kind.UNREADABLE, "data/p line 1 is nested deeper than 64 levels"),
    ),
    (
        "jsonl nested deeper than python recurses",
        JsonlSource,
        b"[" * 100_000 + b"]" * 100_000 + b"\n",
        {},
        FileProblem(Kind.UNREADABLE, "data/p line 1 is nested deeper than 64 levels"),
    ),
    (
        "jsonl integer too long",
        JsonlSource,
        b'{"phone": "1", "n": -' + b"9" * 4301 + b"}\n",
        {},
        FileProblem(Kind.UNREADABLE, "data/p line 1 holds an integer of more than 4,300 digits"),
    ),
    (
        # Some text codecs raise a plain UnicodeError rather than UnicodeDecodeError.
        "utf-16 without a byte order mark",
        CsvSource,
        b"phone\n+79991234567\n",
        {"encoding": "utf-16"},
        FileProblem(
            Kind.ENCODING,
            "data/p line 1 is not valid utf-16 (declare the file's real encoding, e.g. cp1251)",
        ),
    ),
]


@pytest.mark.parametrize(
    ("kind", "content", "options", "problem"),
    [p[1:] for p in PROBLEMS],
    ids=[p[0] for p in PROBLEMS],
)
def test_each_problem_has_its_kind_and_field(
    tmp_path: Path,
    kind: type[CsvSource | JsonlSource],
    content: bytes,
    options: dict[str, Any],
    problem: FileProblem,
) -> None:
    source = kind(_file(tmp_path, "p", content), WHERE, **options)
    assert inspect(source, "data/p", count_rows=True) == problem


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "zlib", "uu", "quopri", "bz2"])
def test_a_codec_that_is_not_a_text_encoding_is_refused(tmp_path: Path, codec: str) -> None:
    source = CsvSource(_file(tmp_path, "p", b"phone\n+79991234567\n"), WHERE, encoding=codec)
    expected = FileProblem(
        Kind.ENCODING, f"{codec!r} is not a text encoding (name one such as utf-8 or cp1251)"
    )
    assert inspect(source, "data/p", count_rows=True) == expected
    with pytest.raises(DataFileError) as info:
        next(csv_rows(source.path, "data/p", codec))
    assert info.value.problem == expected


def test_rows_at_the_bounds_are_read(tmp_path: Path) -> None:
    """A row of exactly MAX_ROW_CHARS characters (its line break included), and an
    integer of 4,300 digits (Python's own limit), are read."""
    width = datafiles.MAX_ROW_CHARS - len("1,\n")
    cells = b"x" * 99 + b","  # a field is bounded tighter, by the csv module
    row = cells * (width // 100) + b"x" * (width % 100)
    csv_file = _file(tmp_path, "p.csv", b"phone,x\n1," + row + b"\n2,y\n")
    assert [line for line, _ in csv_rows(csv_file, "p.csv")] == [1, 2, 3]
    jsonl = _file(tmp_path, "p.jsonl", b'{"phone": "1", "n": ' + b"9" * 4300 + b"}\n")
    [(_, record)] = datafiles.jsonl_records(jsonl, "p.jsonl", "utf-8")
    assert record["n"] == 10**4300 - 1


def test_a_file_of_one_huge_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    import tracemalloc

    path = _file(tmp_path, "p.csv", b"phone," + b"x," * 10 * 2**20 + b"\n")
    tracemalloc.start()
    try:
        problem = inspect(CsvSource(path, WHERE), "data/p.csv", count_rows=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problem == FileProblem(
        Kind.UNREADABLE,
        "data/p.csv line 1 is a row longer than 1,048,576 characters, the most dialogops reads",
    )
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB for a 20 MiB line"


def test_a_loop_of_symbolic_links_is_a_path_problem(tmp_path: Path) -> None:
    (tmp_path / "loop.csv").symlink_to("loop.csv")
    with pytest.raises(DataFileError) as info:
        existing_file(tmp_path, tmp_path, "loop.csv")
    assert info.value.problem == FileProblem(Kind.PATH, "'loop.csv' is a loop of symbolic links")


def test_fields_problems_belong_to() -> None:
    assert {kind: kind.field for kind in Kind} == {
        Kind.PATH: "path",
        Kind.OUTSIDE: "path",
        Kind.UNREADABLE: "path",
        Kind.ENCODING: "encoding",
        Kind.EMPTY: "path",
        Kind.COLUMN: "phone_column",
    }


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path, "p.csv", b"phone\n")

    def denied(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(datafiles, "open_regular", denied)
    assert inspect(CsvSource(path, WHERE), "data/p.csv", count_rows=False) == FileProblem(
        Kind.UNREADABLE, "data/p.csv cannot be read: Permission denied"
    )


@pytest.mark.parametrize(
    ("phones", "content"),
    [
        ("csv: {path: p.csv}", b"tel,name\n+79991234567,Ann\n"),
        ("csv: {path: p.csv}", b""),
        ("csv: {path: p.csv, encoding: utf-8}", "phone\n+79991234567;Борис\n".encode("cp1251")),
        ("jsonl: {path: p.csv}", b'{"phone": "+79991234567"}\n{"phone": \n'),
    ],
)
def test_validate_and_render_word_a_problem_alike(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    phones: str,
    content: bytes,
) -> None:
    """validate inspects the file; rendering finds the same problem while streaming it
    (a file that changed after validation) and says it in the same words."""
    (tmp_path / "dialogops.yaml").write_text(
        "defaults: {project_id: 1, phone_id: 5}\npolicy: {max_phones_per_campaign: 10}\n"
    )
    (tmp_path / "campaigns").mkdir()
    write_campaign(tmp_path, "survey", f"    {phones}")
    path = _file(tmp_path / "campaigns", "p.csv", content)
    monkeypatch.chdir(tmp_path / "campaigns")  # so both name the file "p.csv"
    assert main(["validate"]) == 1
    [validated, _] = capsys.readouterr().out.splitlines()
    source_type = CsvSource if phones.startswith("csv") else JsonlSource
    with pytest.raises(RenderError) as info:
        list(iter_rows(source_type(path, WHERE)))
    [rendered] = info.value.problems
    assert validated.endswith(f": {rendered.message}")
    assert (rendered.location, rendered.field) == (WHERE, "")
