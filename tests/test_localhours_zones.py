"""Each recipient's zone, source by source; the numbering-plan file and its region table;
the allowed local hours on working days, weekends, holidays and transferred working days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dialogops.errors import Location, RenderError
from dialogops.localhours import numplan, rules
from dialogops.localhours.zones import ColumnValueError, Resolver, parse_zone, zone_name
from dialogops.specs import HoursWindow, LocalHours, Schedule
from tests.samples import REPO

FIXTURE = REPO / "examples" / "calling-hours" / "campaigns" / "data" / "numbering-plan.csv"
WHERE = Location("dialogops.yaml", 7, 19)
RULES = LocalHours(HoursWindow(dt.time(8), dt.time(22)), HoursWindow(dt.time(9), dt.time(20)))


def plan() -> numplan.NumberingPlan:
    return numplan.load(FIXTURE, WHERE)


@pytest.mark.parametrize(
    ("phone", "row", "expected", "source"),
    [
        # The row's column wins: an IANA name, an offset in its spellings.
        ("+74951234567", {"tz": "Asia/Vladivostok"}, "Asia/Vladivostok", "column"),
        ("+74951234567", {"tz": "+10"}, "UTC+10:00", "column"),
        ("+74951234567", {"tz": "UTC+05:30"}, "UTC+05:30", "column"),
        ("+74951234567", {"tz": "-3"}, "UTC-03:00", "column"),
        ("+74951234567", {"tz": 10}, "UTC+10:00", "column"),  # YAML's reading of +10
        # An empty column falls through to the number.
        ("+74232123456", {"tz": "  "}, "Asia/Vladivostok", "number"),
        # Landlines: phonenumbers gives one zone.
        ("+74951234567", {}, "Europe/Moscow", "number"),
        ("+73432123456", {}, "Asia/Yekaterinburg", "number"),
        ("+73832123456", {}, "Asia/Novosibirsk", "number"),
        ("+74232123456", {}, "Asia/Vladivostok", "number"),
        ("+12125551234", {}, "America/New_York", "number"),  # beyond Russia too
        # Mobiles (phonenumbers gives all of Russia's zones): the numbering plan's ranges.
        ("+79142000001", {}, "Asia/Vladivostok", "numbering_plan"),
        ("+79142999999", {}, "Asia/Vladivostok", "numbering_plan"),
        ("+79120000000", {}, "Asia/Yekaterinburg", "numbering_plan"),
        ("+79130999999", {}, "Asia/Novosibirsk", "numbering_plan"),
        ("+79165554433", {}, "Europe/Moscow", "numbering_plan"),  # the region of two names
        # Misses: between two ranges of a code, past the last, a code not listed, a region
        # of several zones (Sakha) that the table leaves out.
        ("+79121500000", {}, None, "unknown"),
        ("+79143000000", {}, None, "unknown"),
        ("+79991234567", {}, None, "unknown"),
        ("+79241500000", {}, None, "unknown"),
    ],
)
def test_zone_resolution(
    phone: str, row: dict[str, object], expected: str | None, source: str
) -> None:
    zone, found = Resolver("tz", plan(), None).resolve(phone, row)
    assert (None if zone is None else zone_name(zone), found) == (expected, source)


def test_unknown_numbers_take_the_platform_zone_when_told_to() -> None:
    moscow = parse_zone("Europe/Moscow")
    assert Resolver(None, None, moscow).resolve("+79991234567", {}) == (moscow, "platform")
    assert Resolver(None, None, None).resolve("+79142000001", {}) == (None, "unknown")


@pytest.mark.parametrize("value", ["Asia/Nowhere", "+15", "+03:75", "Moscow", "10h"])
def test_a_column_value_that_is_no_zone_is_refused(value: str) -> None:
    with pytest.raises(ColumnValueError, match=r"IANA|UTC offset"):
        Resolver("tz", None, None).resolve("+74951234567", {"tz": value})


def test_region_names_as_the_registry_writes_them() -> None:
    assert numplan.zone_of_region("г.о. Тольятти|Самарская обл.") == "Europe/Samara"  # noqa: RUF001
    assert numplan.zone_of_region("Республика Татарстан (Татарстан)") == "Europe/Moscow"
    assert numplan.zone_of_region("Кемеровская обл. - Кузбасс") == "Asia/Novokuznetsk"
    assert numplan.zone_of_region("Ямало-Ненецкий АО") == "Asia/Yekaterinburg"  # noqa: RUF001
    assert numplan.zone_of_region("Ненецкий АО") == "Europe/Moscow"  # noqa: RUF001
    assert numplan.zone_of_region("Республика Саха (Якутия)") is None  # noqa: RUF001
    assert len(set(numplan.region_zones().values())) == 23


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("912;1000000;1999999;1000000;Operator\r\n", "numbering_plan.region: 5 columns"),
        ("9x2;1000000;1999999;1000000;Operator;Приморский край\r\n", "numbering_plan.code: '9x2'"),
        ("912;100000000;1;1;Operator;Приморский край\r\n", "numbering_plan.from: '100000000'"),
        ("912;2000000;1999999;1;X;Приморский край\r\n", "numbering_plan.to: 1999999 is before"),
        ("912;1000000;1999999;1;Operator; \r\n", "numbering_plan.region: the region is empty"),
    ],
)
def test_a_bad_registry_row_is_named_by_file_line_and_column(
    tmp_path: Path, row: str, message: str
) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(("code;from;to;capacity;operator;region\r\n" + row).encode("cp1251"))
    with pytest.raises(RenderError) as raised:
        numplan.load(path, WHERE)
    [problem] = raised.value.problems
    assert f"{problem.location.path}:{problem.location.line}" == f"{path}:2"
    assert message in f"{problem.field}: {problem.message}"


def test_a_registry_that_is_not_cp1251_text_is_refused_where_the_config_names_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(b"912;1000000;1999999;1;x;\x98\r\n")  # 0x98 is no cp1251 character
    with pytest.raises(RenderError) as raised:
        numplan.load(path, WHERE)
    [problem] = raised.value.problems
    assert problem.location == WHERE and "cp1251" in problem.message


@pytest.mark.parametrize(
    ("date", "kind", "window"),
    [
        (dt.date(2026, 12, 1), "working day", "08:00-22:00"),  # a Tuesday
        (dt.date(2026, 12, 5), "weekend", "09:00-20:00"),  # a Saturday
        (dt.date(2099, 5, 1), "holiday", "09:00-20:00"),  # 1 May on a Friday
        (dt.date(2025, 11, 1), "working day", "08:00-22:00"),  # a Saturday worked by transfer
        (dt.date(2025, 11, 3), "holiday", "09:00-20:00"),  # the Monday it was moved to
    ],
)
def test_the_window_allowed_on_a_date(date: dt.date, kind: str, window: str) -> None:
    allowed, found = rules.allowed_on(date, RULES)
    assert (found, str(allowed)) == (kind, window)


def test_a_split_group_is_rung_within_its_hours_on_its_own_clock() -> None:
    schedule = Schedule(dt.date(2099, 12, 5), dt.time(9), dt.time(17))
    vladivostok = rules.split_schedule(schedule, dt.timedelta(hours=10), "Europe/Moscow", RULES)
    assert vladivostok == Schedule(dt.date(2099, 12, 5), dt.time(2), dt.time(10))
    # Kamchatka's 08:00-22:00 is 23:00 the day before to 13:00 in Moscow: across Moscow's
    # midnight, so the longer part is kept.
    weekday = Schedule(dt.date(2099, 12, 1), dt.time(8), dt.time(22))
    kamchatka = rules.split_schedule(weekday, dt.timedelta(hours=12), "Europe/Moscow", RULES)
    assert kamchatka == Schedule(dt.date(2099, 12, 1), dt.time(0), dt.time(13))
    evening = Schedule(dt.date(2099, 12, 5), dt.time(20), dt.time(22))
    assert rules.split_schedule(evening, dt.timedelta(hours=3), "Europe/Moscow", RULES) is None
