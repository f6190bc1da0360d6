"""Rendering campaigns: the exact documented create body, the streamed fingerprint,
counts (dedupe, exclude, skip), every problem at its file:line, and bounded memory."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import json
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dialogops.config import load_config
from dialogops.errors import Location, RenderError
from dialogops.manifests import load_project
from dialogops.render import (
    MAX_PROBLEMS,
    RenderStats,
    _batch_json,
    canonical_json,
    fingerprint,
    render_campaign,
)
from dialogops.specs import (
    Campaign,
    CsvSource,
    Exclude,
    InlineSource,
    JsonlSource,
    PhoneSource,
    PhonesSpec,
    Schedule,
)
from tests.conftest import run_cli

TEMPLATES = {
    "name": "{{ row.last_name }} {{ row.first_name }}",
    "time": "{{ row.slot | default('10:00') }}",
    "phone": "{{ row.contract | int }}",
}
WHERE = Location("campaigns/nps.yaml", 1, 1)


@pytest.fixture(autouse=True)
def _inside_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def campaign(
    source: PhoneSource, add_data: dict[str, Any] | None = None, **phones: Any
) -> Campaign:
    add_data = TEMPLATES if add_data is None else add_data
    return Campaign(
        name="nps",
        location=WHERE,
        project_id=1,
        title="Обзвон клиентов",
        description="Обзвон клиентов для опроса удовлетворенности",
        start_block_id=10,
        phone_id=5,
        schedule=Schedule(dt.date(2099, 1, 1), dt.time(9), dt.time(17), 1, 5),
        phones=PhonesSpec(source, **phones),
        add_data=add_data,
        add_data_locations={
            k: Location("campaigns/nps.yaml", 30 + i, 11) for i, k in enumerate(add_data)
        },
    )


def create_body(subject: Campaign, vars: dict[str, str]) -> Any:
    """The body `render_campaign` keeps for apply, parsed."""
    rendered = render_campaign(subject, vars, keep_body=True)
    assert rendered.body is not None
    with contextlib.closing(rendered):
        data = rendered.body.file.read()
    assert len(data) == rendered.body.size
    assert fingerprint(json.loads(data)) == rendered.fingerprint
    assert canonical_json(json.loads(data)) == data
    return json.loads(data)


def csv_source(tmp_path: Path, lines: list[str], name: str = "phones.csv") -> CsvSource:
    path = tmp_path / name
    path.write_text(
        "phone;last_name;first_name;slot;contract\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    return CsvSource(path, WHERE)


def typed(value: Any) -> Any:
    """A value with every leaf tagged by its type, so 1 != 1.0 != "1" != True."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


DOCUMENTED: dict[str, Any] = {
    "campaign": {
        "project_id": 1,
        "name": "Обзвон клиентов",
        "description": "Обзвон клиентов для опроса удовлетворенности",
        "start_block_id": 10,
        "schedule": {
            "date": "2099-01-01",
            "start_time": "09:00",
            "end_time": "17:00",
            "periods": {"id": 1, "title": "Однократно"},
            "attempts": {"id": 1, "title": "1"},
            "interval": "5",
        },
        "state": "Создано",
        "phone_id": 5,
    },
    "phones": [
        {
            "phone": "+79999999999",
            "add_data": {"name": "Иванов Иван", "time": "10:00", "phone": 123456},
        },
    ],
}

EXAMPLE_MANIFEST = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: nps-example
spec:
  project_id: 1
  title: Обзвон клиентов
  description: Обзвон клиентов для опроса удовлетворенности
  start_block_id: 10
  phone_id: 5
  schedule:
    date: 2099-01-01
    start_time: 09:00
    end_time: "17:00"
    interval_minutes: 5
  phones:
    csv:
      path: data/nps.csv
  add_data:
    name: "{{ row.last_name }} {{ row.first_name }}"
    time: "{{ row.slot | default('10:00') }}"
    phone: "{{ row.contract | int }}"
"""


def test_documented_example_from_a_manifest_is_exact(tmp_path: Path) -> None:
    (tmp_path / "campaigns" / "data").mkdir(parents=True)
    (tmp_path / "campaigns" / "nps.yaml").write_text(EXAMPLE_MANIFEST, encoding="utf-8")
    (tmp_path / "campaigns" / "data" / "nps.csv").write_text(
        "phone;last_name;first_name;contract\n8 (999) 999-99-99;Иванов;Иван;123456\n",
        encoding="utf-8",
    )
    project = load_project([tmp_path / "campaigns"], load_config(None, tmp_path))
    [example] = project.campaigns
    body = create_body(example, {})
    assert typed(body) == typed(DOCUMENTED)
    # Sent as it is fingerprinted, keys sorted: JSON objects are unordered.
    assert list(body["campaign"]) == sorted(DOCUMENTED["campaign"])
    assert render_campaign(example, {}).fingerprint == fingerprint(DOCUMENTED)


def test_canonical_json_and_fingerprint() -> None:
    assert canonical_json({"b": 1, "a": ["ё", 2.5, None, True]}) == (
        '{"a":["ё",2.5,null,true],"b":1}'.encode()
    )
    digest = hashlib.sha256(b'{"a":"\xd1\x91"}').hexdigest()
    assert fingerprint({"a": "ё"}) == "sha256:" + digest
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_batches_are_written_byte_for_byte_as_the_canonical_json() -> None:
    """Batches are encoded with msgspec unless they hold a float (its exponents differ from
    json's): a fingerprint must never change with the encoder."""
    rnd = random.Random(5)
    chars = [chr(c) for c in range(0x80)] + ["\u2028", "\x85", "ё", "😀", "\ufeff", "\U0010ffff"]

    def text() -> str:
        return "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 10)))

    values: list[Callable[[], Any]] = [
        text,
        lambda: rnd.randint(-(2**70), 2**70),
        lambda: 10 ** rnd.randint(0, 4299),
        lambda: rnd.choice([True, False, None]),
        lambda: [text(), {text(): rnd.randint(0, 9)}],
        lambda: rnd.choice([1e16, 1e-7, 0.1, -2.5e300]),  # the json path
        lambda: [1, {"x": 1e16}],
    ]
    for _ in range(2000):
        batch = [
            {"add_data": {text(): rnd.choice(values)() for _ in range(3)}, "phone": text()}
            for _ in range(rnd.randint(1, 4))
        ]
        assert _batch_json(batch) == canonical_json(batch)[1:-1]


SOURCES: dict[str, Callable[[Path], PhoneSource]] = {
    "csv": lambda tmp: csv_source(
        tmp,
        [
            "+7 999 123-45-67;Иванов;Иван;11:00;1",
            "89991234567;Дубль;Д;;2",
            "9997654321;Петров;Пётр;;0003",
            "79990000001;Сидоров;Семён;12:00;4",
        ],
    ),
    "jsonl": lambda tmp: _jsonl(tmp),
    "inline": lambda tmp: InlineSource(
        (
            "+79991234567",
            {"phone": "89997654321", "last_name": "Ли", "first_name": "Ан", "contract": "5"},
        ),
        (Location("campaigns/nps.yaml", 20, 9), Location("campaigns/nps.yaml", 21, 9)),
    ),
}


def _jsonl(tmp: Path) -> JsonlSource:
    path = tmp / "p.jsonl"
    rows = [
        {"phone": 79991234567, "last_name": "Ли", "first_name": "Ян", "contract": 7, "slot": None},
        {"phone": "+7 999 765 43 21", "last_name": "Ким", "first_name": "Юн", "contract": "8"},
    ]
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    return JsonlSource(path, WHERE)


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize("dedupe", [True, False])
def test_streamed_fingerprint_equals_the_fingerprint_of_the_body(
    tmp_path: Path, kind: str, dedupe: bool
) -> None:
    add_data = {**TEMPLATES, "literal": 5} if kind != "inline" else {"who": "{{ row.phone }}"}
    subject = campaign(SOURCES[kind](tmp_path), add_data, dedupe=dedupe)
    body = create_body(subject, {})
    rendered = render_campaign(subject, {})
    assert rendered.fingerprint == fingerprint(body)
    assert rendered.fingerprint.startswith("sha256:") and len(rendered.fingerprint) == 71
    assert rendered.stats.phones == len(body["phones"])
    assert rendered.sample_phones == tuple(p["phone"] for p in body["phones"])[:5]
    assert rendered.add_data_keys == tuple(add_data)


def test_csv_body_values_and_counts(tmp_path: Path) -> None:
    subject = campaign(SOURCES["csv"](tmp_path))
    body = create_body(subject, {})
    assert body["phones"] == [
        {"phone": "+79991234567", "add_data": {"name": "Иванов Иван", "time": "11:00", "phone": 1}},
        {"phone": "+79997654321", "add_data": {"name": "Петров Пётр", "time": "", "phone": 3}},
        {
            "phone": "+79990000001",
            "add_data": {"name": "Сидоров Семён", "time": "12:00", "phone": 4},
        },
    ]
    assert render_campaign(subject, {}).stats == RenderStats(
        rows=4, phones=3, duplicates=1, excluded=0, skipped=0
    )


def test_fingerprint_changes_with_any_sent_value(tmp_path: Path) -> None:
    subject = campaign(SOURCES["csv"](tmp_path))
    base = render_campaign(subject, {}).fingerprint
    later = dataclasses.replace(subject, schedule=dataclasses.replace(subject.schedule, attempts=2))
    relabelled = dataclasses.replace(subject, labels={"team": "care"})
    assert render_campaign(later, {}).fingerprint != base
    assert render_campaign(relabelled, {}).fingerprint == base  # labels are never sent


def test_exclude_dedupe_and_skip_are_counted(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path,
        [
            "+79991234567;a;b;;1",
            "89991234567;a;b;;1",
            "not a phone;a;b;;1",
            "9990000000;a;b;;1",
            "12;a;b;;1",
            "+79995556677;a;b;;1",
            "8 999 555 66 77;a;b;;1",
        ],
    )
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+7 999 000-00-00\n", encoding="utf-8")
    subject = campaign(source, exclude=(Exclude(dnc, WHERE),), on_invalid="skip")
    rendered = render_campaign(subject, {})
    assert rendered.stats == RenderStats(
        rows=7, phones=2, duplicates=2, excluded=1, skipped=2, excluded_by=(("dnc.txt", 1),)
    )
    assert rendered.sample_phones == ("+79991234567", "+79995556677")
    no_dedupe = render_campaign(
        dataclasses.replace(subject, phones=dataclasses.replace(subject.phones, dedupe=False)), {}
    )
    assert no_dedupe.stats == RenderStats(
        rows=7, phones=4, duplicates=0, excluded=1, skipped=2, excluded_by=(("dnc.txt", 1),)
    )


def test_vars_reach_templates(tmp_path: Path) -> None:
    subject = campaign(InlineSource(("+79991234567",), (WHERE,)), {"op": "{{ vars.operator }}"})
    assert create_body(subject, {"operator": "Анна"})["phones"][0]["add_data"] == {"op": "Анна"}
    assert (
        render_campaign(subject, {"operator": "Анна"}).fingerprint
        != render_campaign(subject, {"operator": "Олег"}).fingerprint
    )


def test_every_problem_is_reported_at_its_line(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path, ["+79991234567;a;b;;1", "12345;a;b;;1", "+79997654321;a;b;;x", "+7999;a;b;;1"]
    )
    subject = campaign(source, {**TEMPLATES, "bad": "{{ row.nope }}"})
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    columns = "phone, last_name, first_name, slot, contract"
    # `bad` fails the same way on both rows rendered: once, at the template; `phone`
    # fails on one row's data: at that row.
    assert [str(p) for p in info.value.problems] == [
        f"campaigns/nps.yaml:33:11: add_data.bad: no field 'nope' (available: {columns}) "
        "(on all 2 rows)",
        "phones.csv:3:1: phone: '12345' is not a valid phone number (too short)",
        "phones.csv:4:1: add_data.phone: 'x' is not a number (| int); give a default to use "
        "instead, e.g. | int(default=0)",
        "phones.csv:5:1: phone: '+7999' is not a valid phone number (too short)",
    ]
    with pytest.raises(RenderError):
        create_body(subject, {})


def test_skip_does_not_hide_template_errors(tmp_path: Path) -> None:
    source = csv_source(tmp_path, ["bad;a;b;;1", "+79991234567;a;b;;1"])
    subject = campaign(source, {"x": "{{ row.__class__ }}"}, on_invalid="skip")
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    [problem] = info.value.problems
    assert str(problem).startswith(
        "phones.csv:3:1: add_data.x: not allowed in the template "
        "sandbox: access to attribute '__class__' of 'dict'"
    )


def test_missing_phone_field_in_jsonl_and_inline(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"name": "x"}\n', encoding="utf-8")
    inline = InlineSource(({"name": "y"},), (Location("campaigns/nps.yaml", 9, 9),))
    for source, where in (
        (JsonlSource(path, WHERE), "p.jsonl:1:1"),
        (inline, "campaigns/nps.yaml:9:9"),
    ):
        with pytest.raises(RenderError) as info:
            render_campaign(campaign(source, {}), {})
        assert str(info.value) == f"{where}: phone: the row has no 'phone' field"


def test_problems_are_capped_with_a_count_of_the_rest(tmp_path: Path) -> None:
    source = csv_source(tmp_path, [f"{i};a;b;;1" for i in range(MAX_PROBLEMS + 30)])
    with pytest.raises(RenderError) as info:
        render_campaign(campaign(source), {})
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0].startswith("phones.csv:2:1: phone: '0' is not a valid phone number")
    assert problems[-1] == (
        f"phones.csv:{MAX_PROBLEMS + 31}:1: ... and 30 more rendering "
        f"problems (the first {MAX_PROBLEMS} are shown)"
    )


def test_template_compile_errors_come_first(tmp_path: Path) -> None:
    subject = campaign(SOURCES["csv"](tmp_path), {"a": "{{ row.a", "b": "{% for %}"})
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    assert [p.location.line for p in info.value.problems] == [30, 31]


def test_templates_excludes_and_rows_are_all_reported_in_one_run(tmp_path: Path) -> None:
    source = csv_source(tmp_path, ["+79991234567;a;b;;1", "123;a;b;;1"])
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+7 999 000-00-00\nnope1\n", encoding="utf-8")
    subject = campaign(source, {"a": "{{ row.a"}, exclude=(Exclude(dnc, WHERE),))
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    assert [f"{p.location.path}:{p.location.line} {p.field}" for p in info.value.problems] == [
        "campaigns/nps.yaml:30 add_data.a",
        "dnc.txt:2 exclude",
        "phones.csv:3 phone",
    ]


def test_templates_that_compile_are_still_checked_on_every_row(tmp_path: Path) -> None:
    source = csv_source(tmp_path, ["+79991234567;a;b;;1", "+79991234568;a;b;;2"])
    subject = campaign(source, {"broken": "{{ row.a", "typo": "{{ row.lastname }}"})
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    assert [str(p) for p in info.value.problems] == [
        "campaigns/nps.yaml:30:11: add_data.broken: invalid template: unexpected end of "
        "template, expected 'end of print statement'.",
        "campaigns/nps.yaml:31:11: add_data.typo: no field 'lastname' (available: phone, "
        "last_name, first_name, slot, contract) (on all 2 rows)",
    ]


def test_an_unreadable_source_is_reported_with_template_problems(tmp_path: Path) -> None:
    subject = campaign(CsvSource(tmp_path / "gone.csv", WHERE), {"a": "{% if %}"})
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    assert [p.field or p.message for p in info.value.problems] == [
        "file 'gone.csv' does not exist",
        "add_data.a",
    ]


@pytest.mark.slow
def test_render_streams_without_holding_the_phones(tmp_path: Path) -> None:
    rows = 12_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("phone;last_name;first_name;slot;contract\n")
        for i in range(rows):
            handle.write(f"+7999{i:07d};Иванов;Иван;10:00;{i}\n")
    subject = campaign(CsvSource(path, WHERE), dedupe=False)
    tracemalloc.start()
    try:
        result = render_campaign(subject, {})
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        body = create_body(subject, {})
        _, body_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.stats.phones == rows == len(body["phones"])
    # The body of 12,000 phones takes over 6 MB; the stream holds one batch (about 3 MB
    # with everything else a render keeps, whatever the number of rows).
    assert body_peak > 6 * 2**20
    assert streamed_peak < 5 * 2**20


def test_plan_reports_rendering_problems_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "campaigns" / "data").mkdir(parents=True)
    (tmp_path / "campaigns" / "nps.yaml").write_text(EXAMPLE_MANIFEST, encoding="utf-8")
    (tmp_path / "campaigns" / "data" / "nps.csv").write_text(
        "phone;last_name;first_name;contract\n"
        "+79991234567;Иванов;Иван;1\n"
        "555;Петров;Пётр;2\n"
        "+79997654321;Сидоров;Сидор;3\n",
        encoding="utf-8",
    )
    (tmp_path / "campaigns" / "nps.yaml").write_text(
        EXAMPLE_MANIFEST.replace("{{ row.first_name }}", "{{ row.first }}"), encoding="utf-8"
    )
    result = run_cli(["plan"], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    columns = "phone, last_name, first_name, contract"
    assert result.stderr == (
        "error: campaigns/data/nps.csv:3:1: phone: '555' is not a valid phone number (too short)\n"
        f"campaigns/nps.yaml:20:11: add_data.name: no field 'first' (available: {columns}) "
        "(on all 2 rows)\n"
    )


def test_a_problem_that_does_not_depend_on_the_row_is_reported_once(tmp_path: Path) -> None:
    rows = 5003
    source = csv_source(tmp_path, [f"+7999{i:07d};a;b;;1" for i in range(rows)])
    subject = campaign(source, {"op": "{{ vars.operator }}", "n": "{{ row.contract | int }}"})
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    assert [str(p) for p in info.value.problems] == [
        "campaigns/nps.yaml:30:11: add_data.op: vars.operator is not set "
        f"(pass --var operator=VALUE) (on all {rows} rows)"
    ]


def test_row_problems_stay_per_row_beside_a_problem_reported_once(tmp_path: Path) -> None:
    # Every row misses the var; every 10th row has a contract that is not a number; one
    # phone is invalid. The var is reported once, and takes none of the rows shown.
    lines = [f"+7999{i:07d};a;b;;{'N/A' if i % 10 == 0 else i}" for i in range(600)]
    lines[5] = "555;a;b;;1"
    source = csv_source(tmp_path, lines)
    subject = campaign(source, {"op": "{{ vars.operator }}", "n": "{{ row.contract | int }}"})
    with pytest.raises(RenderError) as info:
        render_campaign(subject, {})
    problems = [str(p) for p in info.value.problems]
    not_a_number = (
        "'N/A' is not a number (| int); give a default to use instead, e.g. | int(default=0)"
    )
    assert problems[:4] == [
        "campaigns/nps.yaml:30:11: add_data.op: vars.operator is not set "
        "(pass --var operator=VALUE) (on all 599 rows)",
        f"phones.csv:2:1: add_data.n: {not_a_number}",
        "phones.csv:7:1: phone: '555' is not a valid phone number (too short)",
        f"phones.csv:12:1: add_data.n: {not_a_number}",
    ]
    assert problems[50:] == [
        f"phones.csv:482:1: add_data.n: {not_a_number}",
        "phones.csv:592:1: ... and 11 more rendering problems "
        f"(the first {MAX_PROBLEMS} are shown)",
    ]


def test_a_key_that_works_on_one_row_is_reported_per_row(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path, ["+79991234567;a;b;;1", "+79991234568;a;b;;x", "+79991234569;a;b;;y"]
    )
    with pytest.raises(RenderError) as info:
        render_campaign(campaign(source, {"n": "{{ row.contract | int }}"}), {})
    assert [f"{p.location.path}:{p.location.line}" for p in info.value.problems] == [
        "phones.csv:3",
        "phones.csv:4",
    ]


def test_a_number_with_an_extension_is_an_error_or_skipped(tmp_path: Path) -> None:
    # Sent as +79123456789 before, and then a duplicate of the other person's number.
    source = csv_source(tmp_path, ["8-912-345-67-89 доб. 12;a;b;;1", "+79123456789;c;d;;2"])
    with pytest.raises(RenderError) as info:
        render_campaign(campaign(source, {}), {})
    assert [str(p) for p in info.value.problems] == [
        "phones.csv:2:1: phone: '8-912-***-**-** доб. 12' has an extension ('12'): "
        "dialogops cannot dial extensions"
    ]
    skipping = campaign(source, {"n": "{{ row.contract | int }}"}, on_invalid="skip")
    assert render_campaign(skipping, {}).stats == RenderStats(
        rows=2, phones=1, duplicates=0, excluded=0, skipped=1
    )
    assert create_body(skipping, {})["phones"] == [{"phone": "+79123456789", "add_data": {"n": 2}}]
    # In a do-not-call list too: which line was meant is for a person to say.
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+7 912 345-67-89 ext. 5\n", encoding="utf-8")
    excluding = campaign(source, {}, exclude=(Exclude(dnc, WHERE),), on_invalid="skip")
    with pytest.raises(RenderError) as info:
        render_campaign(excluding, {})
    assert [str(p) for p in info.value.problems] == [
        "dnc.txt:1:1: exclude: '+7 912 ***-**-*9 ext. 5' has an extension ('5'): "
        "dialogops cannot dial extensions"
    ]


def test_text_that_utf8_cannot_encode_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"phone": "+79991234567", "name": "\\ud800"}\n', encoding="utf-8")
    subject = campaign(JsonlSource(path, WHERE), {"name": "{{ row.name }}"})
    for render in (render_campaign, create_body):
        with pytest.raises(RenderError) as info:
            render(subject, {})
        assert [str(p) for p in info.value.problems] == [
            "p.jsonl:1:1: add_data.name: the value contains '\\ud800', a lone surrogate that "
            "UTF-8 cannot encode"
        ]
    titled = dataclasses.replace(subject, title="Обзвон \udc00", add_data={})
    for render in (render_campaign, create_body):
        with pytest.raises(RenderError) as info:
            render(titled, {})
        assert [str(p) for p in info.value.problems] == [
            "campaigns/nps.yaml:1:1: title: the title contains '\\udc00', a lone surrogate "
            "that UTF-8 cannot encode"
        ]


def test_the_collector_pace_is_restored_after_rendering(tmp_path: Path) -> None:
    before = gc.get_threshold()
    render_campaign(campaign(SOURCES["csv"](tmp_path), TEMPLATES), {})
    assert gc.get_threshold() == before
    with pytest.raises(RenderError):
        render_campaign(campaign(SOURCES["csv"](tmp_path), {"x": "{{ row.nosuch }}"}), {})
    assert gc.get_threshold() == before
