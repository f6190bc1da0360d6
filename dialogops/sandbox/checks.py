"""Strict checks of request bodies against the documented Dialog API shapes.

Each check raises `Invalid` with a message that names the offending field (as a dotted
path such as `campaign.schedule.attempts.title`); the server answers it with a 422.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

PERIODS = {"id": 1, "title": "Однократно"}
STATE = "Создано"
DATA_TYPES = ("text", "number", "datetime", "dialog", "goal")
VALUE_FILTERS = ("equal", "contains", "starts_with", "ends_with")
FLAG_FILTERS = ("is_empty", "not_empty", "is_true", "not_true")
SORTINGS = ("asc", "desc")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_DIGITS = re.compile(r"\d+")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")

_CAMPAIGN_KEYS = (
    "project_id",
    "name",
    "description",
    "start_block_id",
    "schedule",
    "state",
    "phone_id",
)
_SCHEDULE_KEYS = ("date", "start_time", "end_time", "periods", "attempts", "interval")
_FILTER_KEYS = ("scenario_id", "start_block_id", "outgoing_campaign_id", "date_start", "date_end")
_COLUMN_KEYS = (
    "id",
    "name",
    "display_name",
    "column_type",
    "data_type",
    "filter_type",
    "filter_value",
    "sorting",
)


class Invalid(Exception):
    """A request body breaks the documented contract; the message names the field."""


@dataclass(frozen=True)
class ColumnRequest:
    name: str
    display_name: str
    filter_type: str | None
    filter_value: str | None
    sorting: str | None


@dataclass(frozen=True)
class ReportQuery:
    """A checked analytics request as the sandbox reads it: which calls, which columns."""

    outgoing_campaign_id: int
    date_start: dt.datetime  # aware, UTC
    date_end: dt.datetime
    columns: tuple[ColumnRequest, ...]


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"{path}: must be an object, got {_type_name(value)}")
    return value


def _keys(
    obj: Mapping[str, Any], path: str, allowed: tuple[str, ...], required: tuple[str, ...]
) -> None:
    prefix = f"{path}." if path else ""
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        raise Invalid(f"{prefix}{unknown[0]}: unknown field (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in obj:
            raise Invalid(f"{prefix}{key}: required field is missing")


def _integer(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{path}: must be an integer, got {_type_name(value)}")
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{path}: must be a string, got {_type_name(value)}")
    return value


def _time(value: object, path: str) -> dt.time:
    text = _string(value, path)
    if not _TIME.fullmatch(text):
        raise Invalid(f"{path}: {text!r} is not a time in the format HH:MM")
    return dt.time.fromisoformat(text)


def check_login(body: object) -> tuple[str, str]:
    """The `(login, password)` of a `POST /login` body."""
    obj = _object(body, "body")
    _keys(obj, "", ("login", "password"), ("login", "password"))
    return _string(obj["login"], "login"), _string(obj["password"], "password")


def check_login_form(form: Mapping[str, str]) -> tuple[str, str]:
    """The `(login, password)` of the OAuth2 password form (`username`, `password`)."""
    for key in ("username", "password"):
        if not form.get(key):
            raise Invalid(f"{key}: required form field is missing")
    return form["username"], form["password"]


def check_create(body: object) -> None:
    """Check a `POST /campaigns` body field by field, as strictly as the document allows."""
    obj = _object(body, "body")
    _keys(obj, "", ("campaign", "phones"), ("campaign", "phones"))
    campaign = _object(obj["campaign"], "campaign")
    _keys(
        campaign,
        "campaign",
        _CAMPAIGN_KEYS,
        ("project_id", "start_block_id", "schedule", "state", "phone_id"),
    )
    for key in ("project_id", "start_block_id", "phone_id"):
        _integer(campaign[key], f"campaign.{key}")
    for key in ("name", "description"):
        if key in campaign:
            _string(campaign[key], f"campaign.{key}")
    if campaign["state"] != STATE:
        raise Invalid(f'campaign.state: must be "{STATE}", got {campaign["state"]!r}')
    _check_schedule(campaign["schedule"])
    _check_phones(obj["phones"])


def _check_schedule(value: object) -> None:
    schedule = _object(value, "campaign.schedule")
    _keys(schedule, "campaign.schedule", _SCHEDULE_KEYS, _SCHEDULE_KEYS)
    date = _string(schedule["date"], "campaign.schedule.date")
    try:
        if not _DATE.fullmatch(date):
            raise ValueError
        dt.date.fromisoformat(date)
    except ValueError:
        raise Invalid(
            f"campaign.schedule.date: {date!r} is not a date in the format YYYY-MM-DD"
        ) from None
    start = _time(schedule["start_time"], "campaign.schedule.start_time")
    end = _time(schedule["end_time"], "campaign.schedule.end_time")
    if end <= start:
        raise Invalid("campaign.schedule.end_time: must be after start_time")
    periods = _object(schedule["periods"], "campaign.schedule.periods")
    if (
        set(periods) != set(PERIODS)
        or type(periods["id"]) is not int
        or periods["id"] != PERIODS["id"]
        or periods["title"] != PERIODS["title"]
    ):
        raise Invalid('campaign.schedule.periods: must be {"id": 1, "title": "Однократно"}')
    attempts = _object(schedule["attempts"], "campaign.schedule.attempts")
    _keys(attempts, "campaign.schedule.attempts", ("id", "title"), ("id", "title"))
    attempt_id = _integer(attempts["id"], "campaign.schedule.attempts.id")
    if not 1 <= attempt_id <= 5:
        raise Invalid(f"campaign.schedule.attempts.id: must be 1 to 5, got {attempt_id}")
    title = _string(attempts["title"], "campaign.schedule.attempts.title")
    if title != str(attempt_id):
        raise Invalid(
            f'campaign.schedule.attempts.title: must be "{attempt_id}" (equal to id), got {title!r}'
        )
    interval = _string(schedule["interval"], "campaign.schedule.interval")
    if not _DIGITS.fullmatch(interval):
        raise Invalid(
            f"campaign.schedule.interval: must be a whole number of minutes as a string, "
            f"got {interval!r}"
        )


def _check_phones(value: object) -> None:
    if not isinstance(value, list):
        raise Invalid(f"phones: must be an array, got {_type_name(value)}")
    if not value:
        raise Invalid("phones: must not be empty")
    for index, item in enumerate(value):
        path = f"phones[{index}]"
        entry = _object(item, path)
        _keys(entry, path, ("phone", "add_data"), ("phone", "add_data"))
        phone = _string(entry["phone"], f"{path}.phone")
        if not _E164.fullmatch(phone) or not _valid_number(phone):
            raise Invalid(f"{path}.phone: {phone!r} is not a valid E.164 number (+79991234567)")
        add_data = _object(entry["add_data"], f"{path}.add_data")
        for key, data in add_data.items():
            if isinstance(data, dict | list):
                raise Invalid(
                    f"{path}.add_data.{key}: must be a string, number, boolean or null, "
                    f"got {_type_name(data)}"
                )


def _valid_number(e164: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return False


def _iso_z(value: object, path: str) -> dt.datetime:
    text = _string(value, path)
    if not _ISO_Z.fullmatch(text):
        raise Invalid(
            f"{path}: {text!r} is not an ISO 8601 UTC date-time like 2000-01-01T08:00:59.096Z"
        )
    try:
        return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC)
    except ValueError:
        raise Invalid(f"{path}: {text!r} is not a real date and time") from None


def check_report(body: object) -> ReportQuery:
    """Check a `POST /analytics/{project_id}/report` body and return what it asks for."""
    obj = _object(body, "body")
    _keys(obj, "", ("analytics_filter", "columns"), ("analytics_filter", "columns"))
    filt = _object(obj["analytics_filter"], "analytics_filter")
    _keys(filt, "analytics_filter", _FILTER_KEYS, _FILTER_KEYS)
    for key in ("scenario_id", "start_block_id", "outgoing_campaign_id"):
        _integer(filt[key], f"analytics_filter.{key}")
    start = _iso_z(filt["date_start"], "analytics_filter.date_start")
    end = _iso_z(filt["date_end"], "analytics_filter.date_end")
    if end <= start:
        raise Invalid("analytics_filter.date_end: must be after date_start")
    columns = obj["columns"]
    if not isinstance(columns, list):
        raise Invalid(f"columns: must be an array, got {_type_name(columns)}")
    if not columns:
        raise Invalid("columns: must name at least one column")
    return ReportQuery(
        outgoing_campaign_id=filt["outgoing_campaign_id"],
        date_start=start,
        date_end=end,
        columns=tuple(_check_column(c, f"columns[{i}]") for i, c in enumerate(columns)),
    )


def _optional(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    return None if value is None else _string(value, f"{path}.{key}")


def _check_column(value: object, path: str) -> ColumnRequest:
    column = _object(value, path)
    _keys(column, path, _COLUMN_KEYS, ("id", "name", "display_name", "column_type", "data_type"))
    _integer(column["id"], f"{path}.id")
    name = _string(column["name"], f"{path}.name")
    display_name = _string(column["display_name"], f"{path}.display_name")
    _string(column["column_type"], f"{path}.column_type")
    data_type = _string(column["data_type"], f"{path}.data_type")
    if data_type not in DATA_TYPES:
        raise Invalid(f"{path}.data_type: {data_type!r} is not one of {', '.join(DATA_TYPES)}")
    filter_type = _optional(column, "filter_type", path)
    filter_value = _optional(column, "filter_value", path)
    if filter_type is not None and filter_type not in VALUE_FILTERS + FLAG_FILTERS:
        raise Invalid(
            f"{path}.filter_type: {filter_type!r} is not one of "
            f"{', '.join(VALUE_FILTERS + FLAG_FILTERS)}"
        )
    if filter_type in VALUE_FILTERS and filter_value is None:
        raise Invalid(f"{path}.filter_value: required with filter_type {filter_type}")
    if filter_type in FLAG_FILTERS and filter_value:
        raise Invalid(f"{path}.filter_value: not allowed with filter_type {filter_type}")
    if filter_type is None and filter_value:
        raise Invalid(f"{path}.filter_value: given without a filter_type")
    sorting = _optional(column, "sorting", path)
    if sorting is not None and sorting not in SORTINGS:
        raise Invalid(f"{path}.sorting: {sorting!r} is not one of asc, desc")
    return ColumnRequest(name, display_name, filter_type, filter_value, sorting)
