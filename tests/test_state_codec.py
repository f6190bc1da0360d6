"""The state file format: the exact text written, what reads back, and every refusal's path."""

from __future__ import annotations

import json

import msgspec
import pytest

from dialogops.errors import StateError
from dialogops.state import Replaced, Sent, SentSchedule, State, StateEntry, dumps, loads
from dialogops.state.codec import listing_rows
from tests.state_samples import FP_A, FP_B, created

NOW = "2099-01-01T09:00:00Z"

# A state file as dialogops wrote it before the format was declared with msgspec (the
# json.dumps of the old hand-written dict), kept byte for byte.
WRITTEN_BEFORE = (
    "{\n"
    '  "version": 1,\n'
    '  "serial": 7,\n'
    '  "lineage": "0c7e4a52-8f4e-4d8e-9a55-3b1f0e2d9c11",\n'
    '  "campaigns": {\n'
    '    "nps-2099-01": {\n'
    '      "status": "created",\n'
    '      "id": 12345,\n'
    f'      "fingerprint": "{FP_A}",\n'
    '      "phones": 1200,\n'
    '      "created_at": "2099-01-10T07:00:03Z",\n'
    '      "history": [\n'
    "        {\n"
    '          "id": 12001,\n'
    f'          "fingerprint": "{FP_B}",\n'
    '          "created_at": "2099-01-03T06:58:40Z",\n'
    '          "replaced_at": "2099-01-10T07:00:03Z"\n'
    "        }\n"
    "      ]\n"
    "    },\n"
    '    "reminder.v2": {\n'
    '      "status": "pending",\n'
    f'      "fingerprint": "{FP_B}",\n'
    '      "phones": 0,\n'
    '      "started_at": "2099-01-10T07:00:05Z"\n'
    "    },\n"
    '    "welcome-calls": {\n'
    '      "status": "unknown",\n'
    f'      "fingerprint": "{FP_B}",\n'
    '      "phones": 40,\n'
    '      "started_at": "2099-01-10T07:00:04Z"\n'
    "    }\n"
    "  }\n"
    "}\n"
)


def document(**campaigns: object) -> str:
    return json.dumps({"version": 1, "serial": 0, "lineage": "", "campaigns": campaigns})


def test_a_file_written_before_reads_and_writes_back_byte_for_byte() -> None:
    state = loads(WRITTEN_BEFORE, "x")
    assert state == State(
        lineage="0c7e4a52-8f4e-4d8e-9a55-3b1f0e2d9c11",
        serial=7,
        campaigns={
            "nps-2099-01": StateEntry(
                "nps-2099-01",
                "created",
                FP_A,
                1200,
                id=12345,
                created_at="2099-01-10T07:00:03Z",
                history=(Replaced(12001, FP_B, "2099-01-03T06:58:40Z", "2099-01-10T07:00:03Z"),),
            ),
            "reminder.v2": StateEntry(
                "reminder.v2", "pending", FP_B, 0, started_at="2099-01-10T07:00:05Z"
            ),
            "welcome-calls": StateEntry(
                "welcome-calls", "unknown", FP_B, 40, started_at="2099-01-10T07:00:04Z"
            ),
        },
    )
    assert dumps(state) == WRITTEN_BEFORE


def test_file_text_is_stable_sorted_and_holds_no_phone_numbers() -> None:
    state = (
        State(lineage="l-1", serial=4)
        .put(StateEntry("zeta", "unknown", FP_B, 2, started_at="2099-01-02T00:00:00Z"))
        .put(created("alpha", 7))
    )
    assert dumps(state) == (
        "{\n"
        '  "version": 1,\n'
        '  "serial": 4,\n'
        '  "lineage": "l-1",\n'
        '  "campaigns": {\n'
        '    "alpha": {\n'
        '      "status": "created",\n'
        '      "id": 7,\n'
        f'      "fingerprint": "{FP_A}",\n'
        '      "phones": 3,\n'
        '      "created_at": "2099-01-01T00:00:00Z"\n'
        "    },\n"
        '    "zeta": {\n'
        '      "status": "unknown",\n'
        f'      "fingerprint": "{FP_B}",\n'
        '      "phones": 2,\n'
        '      "started_at": "2099-01-02T00:00:00Z"\n'
        "    }\n"
        "  }\n"
        "}\n"
    )
    assert loads(dumps(state), "x") == state
    assert (
        dumps(State())
        == '{\n  "version": 1,\n  "serial": 0,\n  "lineage": "",\n  "campaigns": {}\n}\n'
    )


@pytest.mark.parametrize(
    "text",
    [
        "0c7e4a52",
        "Обзвон ü",
        'quote " backslash \\ slash /',
        "tab\t newline\n nul\x00 del\x7f",
        "\u2028\u2029 😀",
    ],
)
def test_strings_are_escaped_as_json_dumps_without_ensure_ascii_did(text: str) -> None:
    replaced = Replaced(5, FP_B, created_at=text, replaced_at=text)
    entry = StateEntry("a", "created", FP_A, 1, id=6, created_at=NOW, history=(replaced,))
    state = State(lineage=text, serial=1).put(entry)
    written = dumps(state)
    assert written == json.dumps(json.loads(written), indent=2, ensure_ascii=False) + "\n"
    assert loads(written, "x") == state


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[]", "(top level): Expected `object`, got `array`"),
        (
            '{"version": 1, "serial": 0, "lineage": ""}',
            "(top level): Object missing required field `campaigns`",
        ),
        (
            '{"version": 1, "serial": -1, "lineage": "", "campaigns": {}}',
            "serial: Expected `int` >= 0",
        ),
        (
            '{"version": 0, "serial": 0, "lineage": "", "campaigns": {}}',
            "version: Expected `int` >= 1",
        ),
        (
            '{"version": 1, "serial": 0, "lineage": "", "campaigns": []}',
            "campaigns: Expected `object`, got `array`",
        ),
        (
            document(a={"status": "done", "fingerprint": FP_A, "phones": 1}),
            "campaigns.a.status: Invalid enum value 'done'",
        ),
        (
            document(a={"status": "created", "fingerprint": FP_A, "phones": 1}),
            "campaigns.a: a created campaign needs its `id`",
        ),
        (
            document(a={"status": "created", "id": 0, "fingerprint": FP_A, "phones": 1}),
            "campaigns.a.id: Expected `int` >= 1",
        ),
        (
            document(a={"status": "created", "id": 2**63, "fingerprint": FP_A, "phones": 1}),
            "campaigns.a.id: Expected `int` <= 9223372036854775807",
        ),
        (
            document(a={"status": "created", "id": 1, "fingerprint": "md5:x", "phones": 1}),
            "campaigns.a.fingerprint: Expected `str` like sha256:<64 lowercase hex digits>",
        ),
        (
            document(a={"status": "pending", "fingerprint": FP_A, "phones": -1}),
            "campaigns.a.phones: Expected `int` >= 0",
        ),
        (
            document(a={"status": "pending", "fingerprint": FP_A, "phones": 1, "phone": "+7"}),
            "campaigns.a: Object contains unknown field `phone`",
        ),
        (
            document(Nps={"status": "pending", "fingerprint": FP_A, "phones": 1}),
            "campaigns: 'Nps' is not a campaign name: "
            "Expected `str` that is a campaign name (a-z 0-9 . _ -, at most 100; a part: NAME@+03)",
        ),
        (
            # msgspec searches a pattern: one ending in `$` let a final newline through.
            document(**{"nps\n": {"status": "pending", "fingerprint": FP_A, "phones": 1}}),
            "campaigns: 'nps\\n' is not a campaign name: "
            "Expected `str` that is a campaign name (a-z 0-9 . _ -, at most 100; a part: NAME@+03)",
        ),
        (
            document(a={"status": "pending", "fingerprint": FP_A, "phones": 1, "started_at": "x"}),
            "campaigns.a.started_at: Expected `str` like 2099-01-01T09:00:00Z (ISO 8601)",
        ),
        (
            # A fraction long enough to hold a phone number: views show times unmasked.
            document(
                a={
                    "status": "pending",
                    "fingerprint": FP_A,
                    "phones": 1,
                    "started_at": "2099-01-01T00:00:00.79991234567+03:00",
                }
            ),
            "campaigns.a.started_at: Expected `str` like 2099-01-01T09:00:00Z (ISO 8601)",
        ),
        (
            document(
                a={"status": "pending", "fingerprint": FP_A, "phones": 1},
                b={
                    "status": "created",
                    "id": 2,
                    "fingerprint": FP_A,
                    "phones": 1,
                    "history": [
                        {"id": 0, "fingerprint": FP_B, "created_at": "", "replaced_at": ""}
                    ],
                },
            ),
            "campaigns.b.history.0.id: Expected `int` >= 1",
        ),
        (
            document(
                b={
                    "status": "created",
                    "id": 2,
                    "fingerprint": FP_A,
                    "phones": 1,
                    "history": [{"id": 1, "fingerprint": FP_B, "created_at": ""}],
                },
            ),
            "campaigns.b.history.0: Object missing required field `replaced_at`",
        ),
        (
            # Bounded like the IDs: a database backend keeps it in a 64-bit column.
            '{"version": 1, "serial": 9223372036854775808, "lineage": "", "campaigns": {}}',
            "serial: Expected `int` <= 9223372036854775807",
        ),
        (
            '{"version": 1, "serial": ' + "9" * 5000 + ', "lineage": "", "campaigns": {}}',
            "serial: Integer value out of range",
        ),
    ],
)
def test_an_invalid_state_names_the_field(text: str, problem: str) -> None:
    with pytest.raises(StateError) as caught:
        loads(text, "/repo/dialogops.state.json")
    assert str(caught.value) == (
        f"/repo/dialogops.state.json: not a valid dialogops state file: {problem}"
    )


@pytest.mark.parametrize(
    "text",
    [
        # In a field msgspec skips, in an entry it decodes, and in JSON that breaks off:
        # msgspec recurses per level either way.
        document()[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}",
        document(a={"status": "pending", "fingerprint": FP_A, "phones": 1, "history": "H"}).replace(
            '"H"', "[" * 5000 + "]" * 5000
        ),
        '{"version": 1, "serial": ' + "[" * 5000,
    ],
    ids=["skipped", "decoded", "broken"],
)
def test_json_nested_too_deeply_is_refused(text: str) -> None:
    with pytest.raises(StateError) as caught:
        loads(text, "s.json")
    assert str(caught.value) == (
        "s.json: not a valid dialogops state file: JSON nested too deeply to read"
    )


def test_broken_json_holding_a_huge_integer_is_named_in_msgspec_words() -> None:
    """The line and column come from Python's json, which cannot read such an integer."""
    with pytest.raises(StateError) as caught:
        loads('{"version": 1, "serial": ' + "9" * 5000 + ", ", "s.json")
    assert str(caught.value) == (
        "s.json: state file is not valid JSON (Input data was truncated); "
        "the previous version may be in s.json.backup"
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"version": 2, "serial": 0, "lineage": "", "campaigns": {}}',
        '{"version": 3, "serial": "7", "workspaces": {}}',
    ],
)
def test_a_newer_format_is_refused_whatever_its_shape(text: str) -> None:
    version = json.loads(text)["version"]
    with pytest.raises(StateError) as caught:
        loads(text, "s.json")
    assert str(caught.value) == (
        f"s.json: state format version {version} was written by a newer dialogops; "
        "this one reads version 1: upgrade dialogops"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("{not json", "line 1, column 2: Expecting property name enclosed in double quotes"),
        ('{\n  "version": 1,\n  "serial": ', "line 3, column 13: Expecting value"),
        (f"{document()} {{}}", "line 1, column 61: Extra data"),
        (
            # msgspec meets the bad status first; the broken end is still what is named.
            document(a={"status": "done", "fingerprint": FP_A, "phones": 1}) + " ]",
            "line 1, column 187: Extra data",
        ),
    ],
)
def test_broken_json_is_named_by_line_and_column(text: str, where: str) -> None:
    with pytest.raises(StateError) as caught:
        loads(text, "/repo/s.json")
    assert str(caught.value) == (
        f"/repo/s.json: state file is not valid JSON ({where}); "
        "the previous version may be in s.json.backup"
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            created("b", 2, fingerprint="md5:x"),
            "campaigns.b.fingerprint: Expected `str` like sha256:",
        ),
        (created("b", 2**63), "campaigns.b.id: Expected `int` <= 9223372036854775807"),
        (created("b", 2, phones=-1), "campaigns.b.phones: Expected `int` >= 0"),
        (created("B b", 2), "campaigns: 'B b' is not a campaign name"),
        (
            StateEntry(
                "b", "unknown", FP_A, 1, history=(Replaced(0, FP_B, "", "2099-01-01T00:00:00Z"),)
            ),
            "campaigns.b.history.0.id: Expected `int` >= 1",
        ),
    ],
)
def test_an_entry_that_would_not_read_back_is_not_written(entry: StateEntry, problem: str) -> None:
    state = State().put(created("a", 1)).put(entry)
    with pytest.raises(StateError) as caught:
        dumps(state)
    assert str(caught.value).startswith(f"refusing to write an invalid state entry: {problem}")


SENT = Sent(
    revision=2,
    title="Опрос",
    description="",
    project_id=1,
    start_block_id=10,
    phone_id=5,
    schedule=SentSchedule("2099-12-01", "09:00", "17:00", 3, 5),
    add_data={"name": "{{ row.name }}", "code": 42, "vip": True},
    data_files={"data/nps.csv": FP_B},
)


def test_what_was_sent_is_written_between_the_times_and_the_history() -> None:
    entry = msgspec.structs.replace(created("a", 1), sent=SENT)
    text = dumps(State(lineage="l", serial=1).put(entry))
    assert json.loads(text)["campaigns"]["a"] == {
        "status": "created",
        "id": 1,
        "fingerprint": FP_A,
        "phones": 3,
        "created_at": "2099-01-01T00:00:00Z",
        "sent": {
            "revision": 2,
            "title": "Опрос",
            "description": "",
            "project_id": 1,
            "start_block_id": 10,
            "phone_id": 5,
            "schedule": {
                "date": "2099-12-01",
                "start_time": "09:00",
                "end_time": "17:00",
                "attempts": 3,
                "interval_minutes": 5,
            },
            "add_data": {"name": "{{ row.name }}", "code": 42, "vip": True},
            "data_files": {"data/nps.csv": FP_B},
        },
    }
    assert loads(text, "x").campaigns["a"] == entry
    # An entry from before dialogops recorded it reads as not recorded, revision 1.
    old = loads(WRITTEN_BEFORE, "x").campaigns["nps-2099-01"]
    assert (old.sent, old.revision) == (None, 1)


@pytest.mark.parametrize(
    ("sent", "problem"),
    [
        ({"revision": 0}, "campaigns.a.sent.revision: Expected `int` >= 1"),
        ({"data_files": {"x.csv": "md5:1"}}, "campaigns.a.sent.data_files[...]: Expected `str`"),
        ({"add_data": {"k": [1]}}, "campaigns.a.sent.add_data[...]: Expected `"),
        ({"phones": 3}, "campaigns.a.sent: Object contains unknown field `phones`"),
    ],
)
def test_an_invalid_summary_names_its_field(sent: dict[str, object], problem: str) -> None:
    block = json.loads(dumps(State().put(msgspec.structs.replace(created("a", 1), sent=SENT))))
    block["campaigns"]["a"]["sent"].update(sent)
    with pytest.raises(StateError) as caught:
        loads(json.dumps(block), "s.json")
    assert str(caught.value).startswith(f"s.json: not a valid dialogops state file: {problem}")


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (("Nps", "created", 1, 3, None), "campaigns: 'Nps' is not a campaign name: Expected `str`"),
        (("a", "gone", 1, 3, None), "campaigns.a.status: Invalid enum value 'gone'"),
        (("a", "created", 0, 3, None), "campaigns.a.id: Expected `int` >= 1"),
        (("a", "created", 1, -3, None), "campaigns.a.phones: Expected `int` >= 0"),
        (("a", "created", 1, 3, "9 May"), "campaigns.a.created_at: Expected `str` like 2099-"),
    ],
)
def test_a_listing_row_is_checked_as_a_state_entry_is(
    row: tuple[object, ...], problem: str
) -> None:
    good = ("b", "created", 2, 3, "2099-01-01T09:00:00Z")
    with pytest.raises(StateError) as caught:
        listing_rows(1, [good, row], "db")
    assert str(caught.value).startswith(f"db: not a valid dialogops state file: {problem}")
