"""Phone sources: the CSV matrix (delimiters, encodings, quoting, blank lines, CRLF),
JSONL, inline lists, their origins, unreadable input (placed where the manifest names the
file, worded as validate words it), and exclude lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogops.errors import Location, RenderError
from dialogops.sources import SourceRow, iter_rows, read_excludes
from dialogops.specs import CsvSource, Exclude, InlineSource, JsonlSource

MANIFEST = Location("campaigns/nps.yaml", 14, 13)


@pytest.fixture(autouse=True)
def _inside_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Origins are shown relative to the working directory.
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


Source = CsvSource | JsonlSource | InlineSource


def rows(source: Source) -> list[tuple[dict[str, object], str, str]]:
    return [(dict(r.data), r.phone_raw, str(r.origin)) for r in iter_rows(source)]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["phone", "name", "slot"]) + "\n"
    text += delimiter.join(["+79991234567", "Анна", "10:00"]) + "\n"
    text += delimiter.join(["89997654321", "Олег", "11:00"]) + "\n"
    path = write(tmp_path / "p.csv", text)
    assert rows(CsvSource(path, MANIFEST)) == [
        ({"phone": "+79991234567", "name": "Анна", "slot": "10:00"}, "+79991234567", "p.csv:2:1"),
        ({"phone": "89997654321", "name": "Олег", "slot": "11:00"}, "89997654321", "p.csv:3:1"),
    ]


def test_declared_delimiter_wins_over_detection(tmp_path: Path) -> None:
    # Commas inside values would fool detection; the declared ";" is used.
    path = write(tmp_path / "p.csv", "phone;note\n+79991234567;a,b,c,d\n")
    assert rows(CsvSource(path, MANIFEST, delimiter=";"))[0][0] == {
        "phone": "+79991234567",
        "note": "a,b,c,d",
    }


@pytest.mark.parametrize("bom", [False, True])
def test_utf8_with_and_without_bom(tmp_path: Path, bom: bool) -> None:
    path = write(tmp_path / "p.csv", "phone,name\n+79991234567,Ёлкин\n", bom=bom)
    [(data, _, _)] = rows(CsvSource(path, MANIFEST))
    assert data == {"phone": "+79991234567", "name": "Ёлкин"}


def test_declared_cp1251(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "phone;name\n+79991234567;Иванов Иван\n", encoding="cp1251")
    [(data, _, _)] = rows(CsvSource(path, MANIFEST, encoding="cp1251"))
    assert data["name"] == "Иванов Иван"


def test_cp1251_read_as_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "phone;name\n+79991234567;Иванов\n", encoding="cp1251")
    with pytest.raises(RenderError) as info:
        rows(CsvSource(path, MANIFEST))
    assert str(info.value) == (
        "campaigns/nps.yaml:14:13: p.csv line 2 is not valid utf-8 "
        "(declare the file's real encoding, e.g. cp1251)"
    )


def test_undecodable_byte_far_into_the_file_is_named_by_its_line(tmp_path: Path) -> None:
    """The text reader decodes ahead of the rows it returns; the line is the bad byte's."""
    # Past the 64 KiB dialect sniff and the reader's 8 KiB of decoding ahead.
    text = "phone;name\n" + "+79991234567;Ann\n" * 5_000 + "+79991234568;Борис\n"
    path = write(tmp_path / "p.csv", text + "+79991234569;Ann\n" * 1_000, encoding="cp1251")
    with pytest.raises(RenderError) as info:
        rows(CsvSource(path, MANIFEST))
    assert str(info.value).startswith("campaigns/nps.yaml:14:13: p.csv line 5002 is not valid")


def test_quoted_fields_blank_lines_and_crlf_keep_line_numbers(tmp_path: Path) -> None:
    text = (
        "phone,name,note\r\n"
        '"+7 999 123-45-67","Иванов, Иван","multi\r\nline"\r\n'
        "\r\n"
        ",,\r\n"
        '89991112233,"He said ""hi""",x\r\n'
    )
    path = write(tmp_path / "p.csv", text)
    assert rows(CsvSource(path, MANIFEST)) == [
        (
            {"phone": "+7 999 123-45-67", "name": "Иванов, Иван", "note": "multi\r\nline"},
            "+7 999 123-45-67",
            "p.csv:2:1",
        ),
        ({"phone": "89991112233", "name": 'He said "hi"', "note": "x"}, "89991112233", "p.csv:6:1"),
    ]


def test_short_rows_lack_the_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "name,phone,slot\nAnna,+79991234567\nOleg\n")
    assert rows(CsvSource(path, MANIFEST)) == [
        ({"name": "Anna", "phone": "+79991234567"}, "+79991234567", "p.csv:2:1"),
        ({"name": "Oleg"}, "", "p.csv:3:1"),
    ]


@pytest.mark.parametrize("width", [3, 300])
def test_records_by_the_header_whatever_its_width(tmp_path: Path, width: int) -> None:
    """Extra cells are ignored and a repeated column keeps its last cell (as a dict of the
    pairs would), for a header short enough for a generated record function or not."""
    columns = ["phone", "a", "a"] + [f"c{i}" for i in range(width - 3)]
    cells = ["+79991234567", "1", "2"] + [str(i) for i in range(width - 3)]
    text = ",".join(columns) + "\n" + ",".join([*cells, "extra"]) + "\n+79991112233,3\n"
    record = {"phone": "+79991234567", "a": "2", **{f"c{i}": str(i) for i in range(width - 3)}}
    found = rows(CsvSource(write(tmp_path / "p.csv", text), MANIFEST))
    assert found == [
        (record, "+79991234567", "p.csv:2:1"),
        ({"phone": "+79991112233", "a": "3"}, "+79991112233", "p.csv:3:1"),
    ]
    assert list(found[0][0]) == list(record)  # in the header's order


def test_missing_phone_column_names_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "tel;name\n+79991234567;A\n")
    with pytest.raises(RenderError) as info:
        rows(CsvSource(path, MANIFEST))
    assert str(info.value) == (
        "campaigns/nps.yaml:14:13: p.csv has no column 'phone' (its columns: 'tel', 'name')"
    )


def test_custom_phone_column(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "tel;name\n+79991234567;A\n")
    assert rows(CsvSource(path, MANIFEST, phone_column="tel"))[0][1] == "+79991234567"


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.csv", "\n\n")
    with pytest.raises(RenderError) as info:
        rows(CsvSource(empty, MANIFEST))
    assert str(info.value) == (
        "campaigns/nps.yaml:14:13: empty.csv is empty: a CSV phone file needs a header row"
    )
    with pytest.raises(RenderError) as info:
        rows(CsvSource(tmp_path / "gone.csv", MANIFEST))
    assert str(info.value) == "campaigns/nps.yaml:14:13: file 'gone.csv' does not exist"


def test_rows_stream_lazily(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "phone\n" + "+79991234567\n" * 10)
    iterator = iter_rows(CsvSource(path, MANIFEST))
    first = next(iterator)
    assert first == SourceRow({"phone": "+79991234567"}, "+79991234567", Location("p.csv", 2, 1))
    assert sum(1 for _ in iterator) == 9


def test_jsonl_objects_with_line_numbers(tmp_path: Path) -> None:
    text = (
        '{"phone": "+79991234567", "name": "Анна", "n": 3}\r\n'
        "\n"
        '{"phone": 79997654321, "tags": ["a"], "none": null}\n'
        '{"name": "no phone"}\n'
    )
    path = write(tmp_path / "p.jsonl", text)
    assert rows(JsonlSource(path, MANIFEST)) == [
        ({"phone": "+79991234567", "name": "Анна", "n": 3}, "+79991234567", "p.jsonl:1:1"),
        ({"phone": 79997654321, "tags": ["a"], "none": None}, "79997654321", "p.jsonl:3:1"),
        ({"name": "no phone"}, "", "p.jsonl:4:1"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"phone": "1"}\n{"phone": \n',
            "campaigns/nps.yaml:14:13: p.jsonl line 2 is not valid JSON: Expecting value",
        ),
        (
            '{"phone": "1"}\n["+79991234567"]\n',
            "campaigns/nps.yaml:14:13: p.jsonl line 2 is not a JSON object",
        ),
    ],
)
def test_jsonl_bad_lines(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "p.jsonl", text)
    with pytest.raises(RenderError) as info:
        rows(JsonlSource(path, MANIFEST))
    assert str(info.value) == message


def test_inline_strings_and_objects_keep_manifest_locations() -> None:
    where = (
        Location("campaigns/nps.yaml", 15, 9),
        Location("campaigns/nps.yaml", 16, 9),
        Location("campaigns/nps.yaml", 17, 9),
    )
    source = InlineSource(
        (
            "+79991234567",
            {"phone": 79997654321, "name": "Анна"},
            {"name": "x", "extra": {"k": [1]}},
        ),
        where,
    )
    assert rows(source) == [
        ({"phone": "+79991234567"}, "+79991234567", "campaigns/nps.yaml:15:9"),
        ({"phone": 79997654321, "name": "Анна"}, "79997654321", "campaigns/nps.yaml:16:9"),
        ({"name": "x", "extra": {"k": [1]}}, "", "campaigns/nps.yaml:17:9"),
    ]


def test_excludes_from_text_and_csv_files(tmp_path: Path) -> None:
    txt = write(tmp_path / "dnc.txt", "# do not call\n+7 999 123-45-67\n\n89990000000\n")
    csv_file = write(tmp_path / "dnc.csv", "name;Phone\nA;8 (912) 000-00-01\nB;79120000002\n")
    headed = write(tmp_path / "dnc2.csv", "number\n9123334455\n")
    numbers = read_excludes(
        [Exclude(txt, MANIFEST), Exclude(csv_file, MANIFEST), Exclude(headed, MANIFEST)], "RU"
    )
    assert numbers == {
        "+79991234567": 0,
        "+79990000000": 0,
        "+79120000001": 1,
        "+79120000002": 1,
        "+79123334455": 2,
    }


def test_every_invalid_exclude_line_is_reported(tmp_path: Path) -> None:
    bad = write(tmp_path / "dnc.txt", "+79991234567\n12345\n+7999\n")
    with pytest.raises(RenderError) as info:
        read_excludes([Exclude(bad, MANIFEST)], "RU")
    assert [str(p) for p in info.value.problems] == [
        "dnc.txt:2:1: exclude: '12345' is not a valid phone number (too short)",
        "dnc.txt:3:1: exclude: '+7999' is not a valid phone number (too short)",
    ]


def test_missing_exclude_file_points_at_the_manifest(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as info:
        read_excludes([Exclude(tmp_path / "nope.txt", MANIFEST)], "RU")
    assert str(info.value) == "campaigns/nps.yaml:14:13: file 'nope.txt' does not exist"


def test_unreadable_exclude_file_points_at_the_manifest(tmp_path: Path) -> None:
    bad = write(tmp_path / "dnc.txt", "+79991234567\n+79991234568 Иванов\n", encoding="cp1251")
    with pytest.raises(RenderError) as info:
        read_excludes([Exclude(bad, MANIFEST)], "RU")
    assert str(info.value) == (
        "campaigns/nps.yaml:14:13: dnc.txt line 2 is not valid utf-8 "
        "(declare the file's real encoding, e.g. cp1251)"
    )
