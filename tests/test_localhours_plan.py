"""Local calling hours through the commands: recipients in Moscow, Yekaterinburg,
Novosibirsk and Vladivostok called 09:00-17:00 Moscow time, planned, refused, skipped and
split, then applied to the sandbox."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dialogops.sandbox import SandboxServer
from tests.conftest import run_cli
from tests.samples import REPO, api_env, read_state, start_state

CONFIG = """\
timezone: Europe/Moscow
defaults: {{project_id: 1, phone_id: 5}}
policy:
  local_hours: {{weekdays: "08:00-22:00", weekends: "09:00-20:00", country: RU}}
{extra}"""

MANIFEST = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: reminders
spec:
  title: Reminder
  start_block_id: 10
  schedule: {{date: {date}, start_time: "{start}", end_time: "{end}"}}
  phones:
    csv: {{path: data/people.csv, delimiter: ";"}}
{spec}"""

# One landline in each city; phonenumbers knows each one's zone.
PEOPLE = (
    "phone;city\n"
    "+74951234567;Moscow\n"
    "+73432345678;Yekaterinburg\n"
    "+73833456789;Novosibirsk\n"
    "+74234567890;Vladivostok\n"
)
REPORT = """\
apiVersion: dialogops/v1
kind: Report
metadata:
  name: results
spec:
  campaign: reminders
  scenario_id: 951
  columns:
    - {id: 1, name: phone_number, display_name: Phone, column_type: field, data_type: text}
  output: {format: csv, path: reports/results.csv}
"""
WEEKDAY, SATURDAY, FIRST_OF_MAY = "2099-12-01", "2099-12-05", "2099-05-01"
OFFSETS = {"+03": 3, "+05": 5, "+07": 7, "+10": 10}


def project(
    root: Path,
    *,
    date: str = WEEKDAY,
    spec: str = "",
    extra: str = "",
    people: str = PEOPLE,
    window: str = "09:00-17:00",
) -> Path:
    start, end = window.split("-")
    (root / "campaigns" / "data").mkdir(parents=True)
    (root / "dialogops.yaml").write_text(CONFIG.format(extra=extra), encoding="utf-8")
    (root / "campaigns" / "reminders.yaml").write_text(
        MANIFEST.format(date=date, spec=spec, start=start, end=end), encoding="utf-8"
    )
    (root / "campaigns" / "data" / "people.csv").write_text(people, encoding="utf-8")
    start_state(root / "dialogops.state.json")
    return root


def plan_json(root: Path) -> dict[str, Any]:
    result = run_cli(["plan", "--format", "json"], root)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def hours_of(document: dict[str, Any]) -> dict[str, Any]:
    [campaign] = document["campaigns"]
    hours: dict[str, Any] = campaign["local_hours"]
    return hours


@pytest.mark.parametrize(
    ("date", "outside", "allowed"),
    [
        (WEEKDAY, ["+10"], "08:00-22:00"),
        (SATURDAY, ["+07", "+10"], "09:00-20:00"),
        (FIRST_OF_MAY, ["+07", "+10"], "09:00-20:00"),  # a Friday, but a public holiday
    ],
)
def test_the_plan_counts_who_is_called_outside_their_local_hours(
    tmp_path: Path, date: str, outside: list[str], allowed: str
) -> None:
    hours = hours_of(plan_json(project(tmp_path, date=date)))
    assert [(g["offset"], g["zones"], g["recipients"]) for g in hours["groups"]] == [
        ("+03", ["Europe/Moscow"], 1),
        ("+05", ["Asia/Yekaterinburg"], 1),
        ("+07", ["Asia/Novosibirsk"], 1),
        ("+10", ["Asia/Vladivostok"], 1),
    ]
    assert [g["offset"] for g in hours["groups"] if not g["inside"]] == outside
    assert {g["allowed"] for g in hours["groups"]} == {allowed}
    assert hours["outside"] == len(outside)
    assert hours["sources"] == {"number": 4}
    assert hours["blocking"].startswith(f"{len(outside)} recipients would be called outside")
    vladivostok = hours["groups"][-1]
    assert (vladivostok["local_start"], vladivostok["local_end"]) == (
        f"{date}T16:00",
        (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat() + "T00:00",
    )
    example = {"at": "campaigns/data/people.csv:5", "phone": "+7423***7890"}
    assert vladivostok["examples"] == [example]


def test_the_text_plan_shows_each_group_with_masked_examples_and_blocks(tmp_path: Path) -> None:
    result = run_cli(["plan"], project(tmp_path, date=SATURDAY))
    assert result.returncode == 1
    assert (
        "      +07: Asia/Novosibirsk: 1 recipient, rung 2099-12-05 Sat 13:00-21:00, allowed "
        "09:00-20:00 (weekend): OUTSIDE; e.g. +7383***6789 at campaigns/data/people.csv:4\n"
    ) in result.stdout
    assert "    outside hours: 2 recipients\n" in result.stdout
    assert "3833456789" not in result.stdout + result.stderr
    assert (
        "error: campaign reminders: 2 recipients would be called outside their allowed local "
        "hours: set on_local_hours: skip, or split_by: timezone"
    ) in result.stderr


def test_apply_refuses_and_sends_nothing(tmp_path: Path, sandbox: SandboxServer) -> None:
    root = project(tmp_path)
    result = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))
    assert result.returncode == 1
    assert "apply refused" in result.stderr
    assert "reminders: create; 1 recipients would be called outside" in result.stderr
    assert sandbox.requests == []


def test_skip_drops_those_outside_their_hours_and_counts_them(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path, date=SATURDAY, spec="  on_local_hours: skip\n")
    document = plan_json(root)
    assert hours_of(document)["outside"] == 2 and hours_of(document)["blocking"] is None
    assert document["summary"]["phones_to_call"] == 2
    result = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))
    assert result.returncode == 0, result.stderr
    [stored] = sandbox.campaigns()
    assert [p["phone"] for p in stored.body["phones"]] == ["+74951234567", "+73432345678"]


def test_split_by_timezone_calls_each_group_within_its_own_hours(tmp_path: Path) -> None:
    for date in (WEEKDAY, SATURDAY):
        root = project(tmp_path / date, date=date, spec="  split_by: timezone\n")
        document = plan_json(root)
        names = [c["name"] for c in document["campaigns"]]
        assert names == [f"reminders@{label}" for label in OFFSETS]
        for campaign in document["campaigns"]:
            hours = campaign["local_hours"]
            [group] = hours["groups"]
            schedule = campaign["campaign"]["schedule"]
            offset = dt.timezone(dt.timedelta(hours=OFFSETS[group["offset"]]))
            moscow = dt.timezone(dt.timedelta(hours=3))
            start, end = (
                dt.datetime.fromisoformat(f"{schedule['date']}T{schedule[key]}")
                .replace(tzinfo=moscow)
                .astimezone(offset)
                for key in ("start_time", "end_time")
            )
            low, high = group["allowed"].split("-")
            assert start.date() == end.date() == dt.date.fromisoformat(date)
            assert (f"{start:%H:%M}", f"{end:%H:%M}") == ("09:00", "17:00")
            assert low <= f"{start:%H:%M}" and f"{end:%H:%M}" <= high
            assert group["inside"] and hours["blocking"] is None
            assert hours["part_of"] == "reminders"
            assert campaign["render"]["phones"] == 1
            assert campaign["campaign"]["title"] == f"Reminder (UTC{group['offset']})"


def test_split_parts_are_applied_once_each_and_then_left_alone(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path, date=SATURDAY, spec="  split_by: timezone\n")
    first = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))
    assert first.returncode == 0, first.stderr
    expected = {f"Reminder (UTC{label})": 1 for label in OFFSETS}
    assert sandbox.creates_by_name() == expected
    schedules = {
        c.body["campaign"]["name"]: c.body["campaign"]["schedule"]["start_time"]
        for c in sandbox.campaigns()
    }
    assert schedules == {
        "Reminder (UTC+03)": "09:00",
        "Reminder (UTC+05)": "07:00",
        "Reminder (UTC+07)": "05:00",
        "Reminder (UTC+10)": "02:00",
    }
    state = read_state(root)
    assert sorted(state["campaigns"]) == [f"reminders@{label}" for label in OFFSETS]
    again = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))
    assert again.returncode == 0, again.stderr
    assert sandbox.creates_by_name() == expected
    one = run_cli(["plan", "--target", "reminders@+07"], root)
    assert one.returncode == 0 and "reminders@+07" in one.stdout
    assert "reminders@+03" not in one.stdout

    # A report on the split manifest runs once per part, each to a file of its own.
    (root / "campaigns" / "results.yaml").write_text(REPORT, encoding="utf-8")
    result = run_cli(["report", "results"], root, env=api_env(sandbox))
    assert result.returncode == 0, result.stderr
    asked = [
        r.body["analytics_filter"]["outgoing_campaign_id"]
        for r in sandbox.requests
        if r.path.endswith("/report")
    ]
    ids = [state["campaigns"][f"reminders@{label}"]["id"] for label in OFFSETS]
    assert asked == ids
    written = sorted(p.name for p in (root / "reports").iterdir())
    assert written == [f"results@{label}.csv" for label in OFFSETS]

    # A part is forgotten and imported again by its own name.
    assert run_cli(["state", "rm", "reminders@+10"], root).returncode == 0
    part = ids[-1]
    imported = run_cli(["import", "reminders@+10", str(part)], root)
    assert imported.returncode == 0, imported.stderr
    assert read_state(root)["campaigns"]["reminders@+10"]["id"] == part
    final = run_cli(["plan"], root)
    assert final.returncode == 0 and "0 to create, 4 unchanged" in final.stdout


def test_unknown_zones_are_refused_skipped_or_taken_as_the_platforms(tmp_path: Path) -> None:
    people = PEOPLE + "+79991234567;Somewhere\n"
    refused = hours_of(plan_json(project(tmp_path / "refuse", people=people)))
    assert refused["unknown"] == 1 and "1 recipients have no known time zone" in refused["blocking"]
    skip = project(tmp_path / "skip", people=people, extra="  unknown_timezone: skip\n")
    document = plan_json(skip)
    assert hours_of(document)["unknown"] == 1
    assert document["campaigns"][0]["render"]["phones"] == 4
    extra = "  unknown_timezone: assume_platform\n"
    assume = project(tmp_path / "assume", people=people, extra=extra)
    hours = hours_of(plan_json(assume))
    assert hours["unknown"] == 0 and hours["sources"] == {"number": 4, "platform": 1}
    assert hours["groups"][0]["recipients"] == 2


def test_the_column_and_the_numbering_plan_give_zones(tmp_path: Path) -> None:
    fixture = REPO / "examples" / "calling-hours" / "campaigns" / "data" / "numbering-plan.csv"
    people = "phone;city;tz\n+79142000001;Vladivostok;\n+79991234567;Khabarovsk;+10\n"
    root = project(
        tmp_path,
        people=people,
        extra="  numbering_plan: numbering.csv\n",
        spec="    timezone_column: tz\n",
    )
    shutil.copy(fixture, root / "numbering.csv")
    hours = hours_of(plan_json(root))
    assert hours["sources"] == {"column": 1, "numbering_plan": 1}
    assert [(g["offset"], g["zones"]) for g in hours["groups"]] == [
        ("+10", ["Asia/Vladivostok", "UTC+10:00"])
    ]


@pytest.mark.parametrize(
    ("config", "spec", "people", "window", "expected"),
    [
        (
            "",
            "    timezone_column: tz\n",
            "phone;tz\n+74951234567;Europe/Moscow\n+73432345678;Asia/Ekb\n",
            "09:00-17:00",
            "campaigns/data/people.csv:3:1: spec.phones.timezone_column: 'Asia/Ekb' is "
            "neither an IANA time zone (Asia/Vladivostok) nor a UTC offset (+10)",
        ),
        (
            "",
            "    timezone_column: tz\n",
            PEOPLE,
            "09:00-17:00",
            "campaigns/reminders.yaml:10:17: spec.phones.timezone_column: no row has a "
            "'tz' field to read time zones from",
        ),
        (
            "  numbering_plan: numbering.csv\n",
            "",
            PEOPLE,
            "09:00-17:00",
            "numbering.csv:1:2: policy.numbering_plan.from: '12x' is not a number of up "
            "to 7 digits",
        ),
        (
            "",
            "  split_by: timezone\n",
            PEOPLE,
            "20:00-21:00",
            "campaigns/reminders.yaml:8:13: spec.schedule: 20:00-21:00 on 2099-12-05 (a weekend) "
            "leaves no time inside the allowed local hours 09:00-20:00",
        ),
        (
            "",
            "",
            PEOPLE,
            "08:00-20:00",  # twelve hours; Saturday allows eleven anywhere
            "campaigns/reminders.yaml:8:13: spec.schedule: 08:00-20:00 on 2099-12-05 "
            "(Europe/Moscow) lies inside the allowed local hours of no time zone",
        ),
    ],
)
def test_validate_names_each_bad_input_where_it_is_written(
    tmp_path: Path, config: str, spec: str, people: str, window: str, expected: str
) -> None:
    root = project(tmp_path, spec=spec, extra=config, people=people, window=window, date=SATURDAY)
    (root / "numbering.csv").write_bytes("912;12x;1999999;1;Operator;Москва\r\n".encode("cp1251"))
    result = run_cli(["validate"], root)
    assert result.returncode == 1
    assert expected in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            'local_hours: {weekdays: "8-22", weekends: "09:00-20:00"}',
            "policy.local_hours.weekdays: '8-22' is not a window HH:MM-HH:MM such as 08:00-22:00",
        ),
        (
            'local_hours: {weekdays: "22:00-08:00", weekends: "09:00-20:00"}',
            "policy.local_hours.weekdays: 22:00-08:00: the window must end after it starts",
        ),
        (
            'local_hours: {weekdays: "08:00-22:00", weekends: "09:00-20:00"}\n'
            "  numbering_plan: missing.csv",
            "policy.numbering_plan:",
        ),
    ],
)
def test_config_windows_and_the_numbering_plan_path_are_checked(
    tmp_path: Path, policy: str, expected: str
) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "dialogops.yaml").write_text(f"policy:\n  {policy}\n", encoding="utf-8")
    result = run_cli(["validate"], tmp_path)
    assert result.returncode == 1
    assert expected in result.stdout + result.stderr


def test_split_by_needs_local_hour_rules(tmp_path: Path) -> None:
    root = project(tmp_path, spec="  split_by: timezone\n")
    config = "timezone: Europe/Moscow\ndefaults: {project_id: 1, phone_id: 5}\n"
    (root / "dialogops.yaml").write_text(config, encoding="utf-8")
    result = run_cli(["validate"], root)
    assert result.returncode == 1
    assert "spec.split_by: splitting by timezone needs policy.local_hours" in result.stdout


def test_the_example_project_plans_four_parts(tmp_path: Path) -> None:
    root = tmp_path / "example"
    shutil.copytree(REPO / "examples" / "calling-hours", root)
    result = run_cli(["plan"], root)
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("+ ")] == [
        f"reminders-2099-12@{label}" for label in OFFSETS
    ]
    assert "zones from: column 1, number 1, numbering plan 1" in result.stdout


def test_a_group_left_no_time_is_an_error_naming_it(tmp_path: Path) -> None:
    # One minute at 09:00 on a clock 12:01 ahead of UTC is 23:59 to midnight in Moscow:
    # nothing of it is left on one Moscow date.
    people = "phone;tz\n+74951234567;\n+79991234567;+12:01\n"
    root = project(
        tmp_path,
        date=SATURDAY,
        people=people,
        window="09:00-09:01",
        spec="    timezone_column: tz\n  split_by: timezone\n",
    )
    result = run_cli(["plan"], root)
    assert result.returncode == 1
    assert (
        "campaigns/reminders.yaml:1:1: spec.split_by: group +12:01 (UTC+12:01; 1 recipients): "
        "the window 09:00-09:01 on its clock, within the allowed 09:00-20:00 of a weekend, "
        "leaves no time on one Europe/Moscow date"
    ) in result.stderr
