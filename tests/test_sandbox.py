"""The sandbox Dialog API over real HTTP: strict checks, persistence, reports, faults, CLI."""

from __future__ import annotations

import copy
import datetime as dt
import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from dialogops.errors import UsageError
from dialogops.sandbox import (
    SANDBOX_LOGIN,
    SANDBOX_PASSWORD,
    SANDBOX_TOKEN,
    Faults,
    SandboxServer,
    running_sandbox,
)
from tests.conftest import child_env, run_cli, wait_for
from tests.samples import campaign_part

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
PHONES = [f"+7999123450{i}" for i in range(10)]


def create_body(name: str = "Обзвон клиентов", phones: list[str] | None = None) -> dict[str, Any]:
    return {
        "campaign": campaign_part(name),
        "phones": [
            {"phone": p, "add_data": {"name": f"Client {i}", "slot": i}}
            for i, p in enumerate(phones or PHONES)
        ],
    }


def post(
    server: SandboxServer,
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> requests.Response:
    return requests.post(
        server.url + path, json=body, headers=AUTH if headers is None else headers, timeout=timeout
    )


def create(server: SandboxServer, body: dict[str, Any] | None = None) -> int:
    response = post(server, "/campaigns", body or create_body())
    assert response.status_code == 200, response.text
    return int(response.json()["campaign"]["id"])


# --- create ------------------------------------------------------------------------------


def test_create_stores_the_exact_body_and_answers_the_documented_shape(sandbox):
    body = create_body()
    response = post(sandbox, "/campaigns", body)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    campaign_id = response.json()["campaign"]["id"]
    assert response.json() == {"campaign": {"id": campaign_id}}
    [stored] = sandbox.campaigns()
    assert (stored.id, stored.name, stored.body) == (campaign_id, "Обзвон клиентов", body)
    assert stored.created_at.tzinfo is not None
    assert sandbox.creates_by_name() == {"Обзвон клиентов": 1}


def test_ids_increase_and_persist_across_restarts(tmp_path):
    db = tmp_path / "s.db"
    with SandboxServer(db) as first:
        ids = [create(first, create_body(f"c{i}")) for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    with SandboxServer(db) as second:
        assert [c.id for c in second.campaigns()] == ids
        assert create(second, create_body("c0")) > ids[-1]
        assert second.creates_by_name() == {"c0": 2, "c1": 1, "c2": 1}


def test_requests_are_recorded_with_the_token_redacted(sandbox):
    create(sandbox)
    [received] = sandbox.requests
    assert (received.method, received.path) == ("POST", "/api/campaigns")
    assert received.headers["Authorization"] == "<redacted>"
    assert SANDBOX_TOKEN not in json.dumps(received.headers)
    assert received.body == create_body()


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = body
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


DELETE = object()

INVALID_CREATES = [
    ("campaign.project_id", "1", "campaign.project_id: must be an integer, got a string"),
    ("campaign.project_id", True, "campaign.project_id: must be an integer, got a boolean"),
    ("campaign.start_block_id", DELETE, "campaign.start_block_id: required field is missing"),
    ("campaign.phone_id", 5.0, "campaign.phone_id: must be an integer, got a number"),
    ("campaign.name", 7, "campaign.name: must be a string"),
    ("campaign.colour", "red", "campaign.colour: unknown field"),
    ("campaign.state", "Запущено", 'campaign.state: must be "Создано"'),
    ("campaign.state", DELETE, "campaign.state: required field is missing"),
    ("campaign.schedule.date", "01.12.2099", "campaign.schedule.date: '01.12.2099' is not"),
    ("campaign.schedule.date", "2099-02-30", "campaign.schedule.date: '2099-02-30' is not"),
    ("campaign.schedule.start_time", "9:00", "campaign.schedule.start_time: '9:00' is not"),
    ("campaign.schedule.end_time", "24:00", "campaign.schedule.end_time: '24:00' is not"),
    ("campaign.schedule.end_time", "09:00", "campaign.schedule.end_time: must be after"),
    ("campaign.schedule.periods", {"id": 2, "title": "Однократно"}, "campaign.schedule.periods"),
    ("campaign.schedule.periods.title", "Once", "campaign.schedule.periods: must be"),
    ("campaign.schedule.attempts.id", 6, "campaign.schedule.attempts.id: must be 1 to 5"),
    ("campaign.schedule.attempts.title", "2", 'campaign.schedule.attempts.title: must be "3"'),
    ("campaign.schedule.attempts.title", 3, "campaign.schedule.attempts.title: must be a string"),
    ("campaign.schedule.interval", 5, "campaign.schedule.interval: must be a string"),
    ("campaign.schedule.interval", "-5", "campaign.schedule.interval: must be a whole number"),
    ("campaign.schedule.extra", 1, "campaign.schedule.extra: unknown field"),
    ("phones", [], "phones: must not be empty"),
    ("phones", {"phone": "+79991234500"}, "phones: must be an array, got an object"),
    ("phones.0.phone", "89991234500", "phones[0].phone: '89991234500' is not a valid E.164"),
    ("phones.0.phone", "+70000000000", "phones[0].phone: '+70000000000' is not a valid E.164"),
    ("phones.1.phone", 79991234501, "phones[1].phone: must be a string, got a number"),
    ("phones.0.add_data", ["x"], "phones[0].add_data: must be an object, got an array"),
    ("phones.0.add_data", DELETE, "phones[0].add_data: required field is missing"),
    ("phones.0.add_data.name", {"a": 1}, "phones[0].add_data.name: must be a string, number"),
    ("phones.0.extra", 1, "phones[0].extra: unknown field"),
    ("extra", 1, "extra: unknown field (allowed: campaign, phones)"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    INVALID_CREATES,
    ids=[f"{p}={'DELETE' if v is DELETE else repr(v)}" for p, v, _ in INVALID_CREATES],
)
def test_create_rejects_any_deviation_with_422_naming_the_field(sandbox, path, value, message):
    body = copy.deepcopy(create_body())
    set_path(body, path, value)
    response = post(sandbox, "/campaigns", body)
    assert response.status_code == 422
    assert response.json()["message"].startswith(message), response.json()
    assert sandbox.campaigns() == []


def test_optional_fields_and_edge_values_are_accepted(sandbox):
    body = create_body()
    del body["campaign"]["name"], body["campaign"]["description"]
    body["campaign"]["schedule"]["interval"] = "0"
    body["campaign"]["schedule"]["attempts"] = {"id": 5, "title": "5"}
    body["phones"][0]["add_data"] = {"flag": True, "none": None, "ratio": 1.5}
    create(sandbox, body)
    assert sandbox.creates_by_name() == {"": 1}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {SANDBOX_TOKEN}"}]
)
def test_create_needs_the_bearer_token(sandbox, headers):
    response = post(sandbox, "/campaigns", create_body(), headers=headers)
    assert response.status_code == 401
    assert "token" in response.json()["message"]
    assert sandbox.campaigns() == []


def test_login_exchanges_credentials_for_the_token_and_redacts_the_password(sandbox):
    good = post(sandbox, "/login", {"login": SANDBOX_LOGIN, "password": SANDBOX_PASSWORD}, {})
    assert good.status_code == 200
    assert good.json() == {"access_token": SANDBOX_TOKEN, "token_type": "bearer"}
    bad = post(sandbox, "/login", {"login": SANDBOX_LOGIN, "password": "nope"}, {})
    assert bad.status_code == 401 and bad.json() == {"message": "wrong login or password"}
    incomplete = post(sandbox, "/login", {"login": SANDBOX_LOGIN}, {})
    assert incomplete.status_code == 422 and incomplete.json()["message"].startswith("password")
    assert SANDBOX_PASSWORD not in json.dumps([r.body for r in sandbox.requests])


def test_bad_json_unknown_paths_and_methods_get_json_errors(sandbox):
    raw = requests.post(sandbox.url + "/campaigns", data=b"{nope", headers=AUTH, timeout=5)
    assert raw.status_code == 400 and "not valid JSON" in raw.json()["message"]
    missing = post(sandbox, "/lists", {})
    assert missing.status_code == 404
    assert missing.json()["message"] == "no such endpoint: POST /api/lists"
    listing = requests.get(sandbox.url + "/campaigns", headers=AUTH, timeout=5)
    assert listing.status_code == 405 and "GET" in listing.json()["message"]


def test_the_sandbox_refuses_a_non_loopback_address(tmp_path):
    with pytest.raises(UsageError, match="loopback only"):
        SandboxServer(tmp_path / "s.db", host="0.0.0.0")


def test_running_sandbox_keeps_its_files_under_dot_dialogops(tmp_path):
    with running_sandbox(tmp_path) as server:
        create(server)
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/api")
        assert len(server.campaigns()) == 1
        assert server.requests == []  # a long --sandbox run keeps no copy of each body
    assert (tmp_path / ".dialogops" / "sandbox.db").is_file()


# --- faults ------------------------------------------------------------------------------


def test_status_fault_answers_the_next_n_creates_and_stores_nothing(sandbox):
    sandbox.faults.update(status=503, status_count=2, retry_after=1.5)
    for _ in range(2):
        response = post(sandbox, "/campaigns", create_body())
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1.5"
        assert "injected 503" in response.json()["message"]
    assert sandbox.campaigns() == []
    create(sandbox)
    assert sandbox.creates_by_name() == {"Обзвон клиентов": 1}
    assert sandbox.faults.status_count == 0


def test_status_fault_sends_retry_after_only_with_429_and_503(sandbox):
    sandbox.faults.update(status=500, status_count=1, retry_after=3)
    response = post(sandbox, "/campaigns", create_body())
    assert response.status_code == 500 and "Retry-After" not in response.headers


def test_invalid_creates_do_not_use_up_a_counted_fault(sandbox):
    sandbox.faults.update(status=500, status_count=1)
    body = create_body()
    body["campaign"]["state"] = "x"
    assert post(sandbox, "/campaigns", body).status_code == 422
    assert post(sandbox, "/campaigns", create_body()).status_code == 500


@pytest.mark.parametrize(("point", "stored"), [("before_store", 0), ("after_store", 1)])
def test_drop_closes_the_connection_without_an_answer(sandbox, point, stored):
    sandbox.faults.update(drop=point, drop_count=1)
    with pytest.raises(requests.ConnectionError):
        post(sandbox, "/campaigns", create_body())
    assert len(sandbox.campaigns()) == stored
    create(sandbox)  # the fault was used up
    assert len(sandbox.campaigns()) == stored + 1


def test_timeout_after_store_stores_then_answers_too_late(sandbox):
    sandbox.faults.timeout_after_store = 2.0
    with pytest.raises(requests.ReadTimeout):
        post(sandbox, "/campaigns", create_body(), timeout=0.3)
    assert len(sandbox.campaigns()) == 1


def test_latency_delays_handling_but_the_create_still_happens(tmp_path):
    server = SandboxServer(tmp_path / "s.db", faults=Faults(latency=30))
    server.start()
    with pytest.raises(requests.ReadTimeout):
        post(server, "/campaigns", create_body(), timeout=0.3)
    server.stop()  # ends the wait; the delayed create is handled before stop returns
    assert server.creates_by_name() == {"Обзвон клиентов": 1}


def test_malformed_fault_stores_and_answers_without_an_id(sandbox):
    sandbox.faults.malformed_count = 1
    response = post(sandbox, "/campaigns", create_body())
    assert response.status_code == 200 and "id" not in response.json()["campaign"]
    assert len(sandbox.campaigns()) == 1


def test_faults_reject_unknown_settings():
    with pytest.raises(AttributeError, match="no setting 'stauts'"):
        Faults().update(stauts=500)


def test_stop_does_not_wait_for_a_pending_timeout_fault(tmp_path):
    server = SandboxServer(tmp_path / "s.db", faults=Faults(timeout_after_store=600))
    server.start()
    with pytest.raises(requests.ReadTimeout):
        post(server, "/campaigns", create_body(), timeout=0.3)
    server.stop()  # returns at once (a hang here would time the suite out)
    assert len(server.campaigns()) == 1


# --- report ------------------------------------------------------------------------------


def column(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "name": name,
        "display_name": name.title(),
        "column_type": "field",
        "data_type": "text",
        **extra,
    }


def report_body(
    campaign_id: int,
    columns: list[dict[str, Any]],
    start: str = "2099-12-01T00:00:00.000Z",
    end: str = "2099-12-02T00:00:00.000Z",
) -> dict[str, Any]:
    return {
        "analytics_filter": {
            "scenario_id": 951,
            "start_block_id": 10,
            "outgoing_campaign_id": campaign_id,
            "date_start": start,
            "date_end": end,
        },
        "columns": columns,
    }


ALL_FIELDS = [
    "phone_number",
    "status",
    "duration",
    "goal",
    "attempts",
    "started_at",
    "name",
    "slot",
]


def full_report(server: SandboxServer, campaign_id: int, **filters: Any) -> dict[str, Any]:
    response = post(
        server,
        "/analytics/1/report",
        report_body(campaign_id, [column(f) for f in ALL_FIELDS], **filters),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_report_rows_are_deterministic_and_consistent(sandbox):
    campaign_id = create(sandbox)
    report = full_report(sandbox, campaign_id)
    assert report == full_report(sandbox, campaign_id)
    assert [c["field"] for c in report["columns"]] == ALL_FIELDS
    assert {c["field"]: c["type"] for c in report["columns"]} == {
        "phone_number": "text",
        "status": "text",
        "duration": "number",
        "goal": "goal",
        "attempts": "number",
        "started_at": "datetime",
        "name": "text",
        "slot": "number",
    }
    rows = report["data"]
    assert [r["phone_number"] for r in rows] == PHONES
    assert [(r["name"], r["slot"]) for r in rows] == [(f"Client {i}", i) for i in range(10)]
    durations = [r["duration"] for r in rows]
    assert report["count"] == 10
    assert report["total_duration"] == sum(durations)
    assert report["avg_duration"] == round(sum(durations) / 10)
    window_start = dt.datetime(2099, 12, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    for row in rows:
        assert row["status"] in ("answered", "no_answer", "busy", "failed")
        assert (row["duration"] > 0) == (row["status"] == "answered")
        assert row["goal"] is False or row["status"] == "answered"
        assert 1 <= row["attempts"] <= 3
        started = dt.datetime.fromisoformat(row["started_at"])
        window_end = window_start + dt.timedelta(hours=8)
        assert window_start <= started < window_end
        assert started + dt.timedelta(seconds=row["duration"]) <= window_end
    # The same phone in another campaign gets the same outcome: it is derived from the phone.
    other = create(sandbox, create_body("other", PHONES[:2]))
    assert [r["status"] for r in full_report(sandbox, other)["data"]] == [
        r["status"] for r in rows[:2]
    ]


def test_report_returns_only_rows_inside_the_period(sandbox):
    campaign_id = create(sandbox)
    rows = full_report(sandbox, campaign_id)["data"]
    times = sorted(dt.datetime.fromisoformat(r["started_at"]).astimezone(dt.UTC) for r in rows)
    cut = times[4]
    cut_text = cut.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    before = full_report(sandbox, campaign_id, end=cut_text)
    after = full_report(sandbox, campaign_id, start=cut_text)
    assert before["count"] == 4 and after["count"] == 6  # [start, end): the cut row is after
    empty = full_report(
        sandbox, campaign_id, start="2099-12-02T00:00:00Z", end="2099-12-03T00:00:00Z"
    )
    assert (empty["data"], empty["count"], empty["total_duration"], empty["avg_duration"]) == (
        [],
        0,
        0,
        0,
    )


def report_rows(server: SandboxServer, campaign_id: int, *columns: dict[str, Any]) -> list[Any]:
    response = post(server, "/analytics/1/report", report_body(campaign_id, list(columns)))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_report_filters(sandbox):
    campaign_id = create(sandbox)
    every = full_report(sandbox, campaign_id)["data"]

    def phones(**filter_: Any) -> list[str]:
        rows = report_rows(
            sandbox, campaign_id, column("phone_number"), column(filter_.pop("field"), **filter_)
        )
        return [r["phone_number"] for r in rows]

    answered = [r["phone_number"] for r in every if r["status"] == "answered"]
    assert answered and len(answered) < 10
    assert phones(field="status", filter_type="equal", filter_value="ANSWERED") == answered
    assert phones(field="phone_number", filter_type="contains", filter_value="79991234503") == [
        "+79991234503"
    ]
    assert phones(field="phone_number", filter_type="equal", filter_value="+79991234507") == [
        "+79991234507"
    ]
    assert phones(field="phone_number", filter_type="starts_with", filter_value="7999") == PHONES
    assert phones(field="name", filter_type="ends_with", filter_value="t 9") == ["+79991234509"]
    assert phones(field="goal", filter_type="is_true") == [
        r["phone_number"] for r in every if r["goal"]
    ]
    assert phones(field="goal", filter_type="not_true") == [
        r["phone_number"] for r in every if not r["goal"]
    ]
    assert phones(field="slot", filter_type="is_true") == PHONES[1:]  # 0 is not true
    assert phones(field="name", filter_type="not_empty") == PHONES
    assert phones(field="name", filter_type="is_empty") == []


def test_report_filters_on_a_key_only_some_phones_have(sandbox):
    body = create_body(phones=PHONES[:3])
    body["phones"][1]["add_data"]["vip"] = "yes"
    campaign_id = create(sandbox, body)
    rows = report_rows(
        sandbox, campaign_id, column("phone_number"), column("vip", filter_type="is_empty")
    )
    assert rows == [
        {"phone_number": PHONES[0], "vip": None},
        {"phone_number": PHONES[2], "vip": None},
    ]


def test_report_sorting_uses_the_first_sorted_column(sandbox):
    campaign_id = create(sandbox)
    rows = report_rows(
        sandbox,
        campaign_id,
        column("phone_number"),
        column("duration", sorting="desc"),
        column("slot", sorting="asc"),
    )
    durations = [r["duration"] for r in rows]
    assert durations == sorted(durations, reverse=True)
    ties = [r["slot"] for r in rows if r["duration"] == 0]
    assert ties == sorted(ties)  # a stable sort keeps sent order among equal durations
    by_phone = report_rows(sandbox, campaign_id, column("phone_number", sorting="desc"))
    assert [r["phone_number"] for r in by_phone] == PHONES[::-1]
    by_time = report_rows(sandbox, campaign_id, column("started_at", sorting="asc"))
    times = [dt.datetime.fromisoformat(r["started_at"]) for r in by_time]
    assert times == sorted(times)


def test_report_counts_cover_the_filtered_rows_only(sandbox):
    campaign_id = create(sandbox)
    response = post(
        sandbox,
        "/analytics/1/report",
        report_body(campaign_id, [column("status", filter_type="equal", filter_value="answered")]),
    )
    report = response.json()
    every = full_report(sandbox, campaign_id)["data"]
    answered = [r["duration"] for r in every if r["status"] == "answered"]
    assert report["data"] == [{"status": "answered"}] * len(answered)
    assert report["count"] == len(answered)
    assert report["total_duration"] == sum(answered)
    assert report["avg_duration"] == int(sum(answered) / len(answered) + 0.5)


def test_report_unknown_campaign_is_404_and_other_project_is_422(sandbox):
    campaign_id = create(sandbox)
    missing = post(
        sandbox, "/analytics/1/report", report_body(campaign_id + 100, [column("status")])
    )
    assert missing.status_code == 404
    assert missing.json() == {"message": f"campaign {campaign_id + 100} not found"}
    other = post(sandbox, "/analytics/2/report", report_body(campaign_id, [column("status")]))
    assert other.status_code == 422
    assert "belongs to project 1, not 2" in other.json()["message"]


INVALID_REPORTS = [
    ({"date_start": "2099-12-01T00:00:00+03:00"}, "analytics_filter.date_start: "),
    ({"date_end": "2099-12-01"}, "analytics_filter.date_end: '2099-12-01' is not"),
    ({"date_end": "2099-11-30T00:00:00Z"}, "analytics_filter.date_end: must be after"),
    ({"scenario_id": "951"}, "analytics_filter.scenario_id: must be an integer"),
    ({"outgoing_campaign_id": None}, "analytics_filter.outgoing_campaign_id: must be an"),
    ({"column": {"data_type": "string"}}, "columns[0].data_type: 'string' is not one of"),
    ({"column": {"filter_type": "like", "filter_value": "x"}}, "columns[0].filter_type: 'like'"),
    ({"column": {"filter_type": "contains"}}, "columns[0].filter_value: required with"),
    ({"column": {"filter_type": "is_true", "filter_value": "x"}}, "columns[0].filter_value: not"),
    ({"column": {"sorting": "up"}}, "columns[0].sorting: 'up' is not one of asc, desc"),
    ({"column": {"name": "colour"}}, "columns[0].name: unknown field 'colour'"),
    ({"column": {"width": 3}}, "columns[0].width: unknown field"),
]


@pytest.mark.parametrize(
    ("change", "message"),
    INVALID_REPORTS,
    ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(INVALID_REPORTS)],
)
def test_report_rejects_invalid_requests_with_422(sandbox, change, message):
    campaign_id = create(sandbox)
    body = report_body(campaign_id, [column("status")])
    change = dict(change)
    body["columns"][0].update(change.pop("column", {}))
    body["analytics_filter"].update(change)
    response = post(sandbox, "/analytics/1/report", body)
    assert response.status_code == 422
    assert response.json()["message"].startswith(message), response.json()


def test_report_needs_the_token_and_honours_report_status(sandbox):
    campaign_id = create(sandbox)
    body = report_body(campaign_id, [column("status")])
    assert post(sandbox, "/analytics/1/report", body, headers={}).status_code == 401
    sandbox.faults.report_status = 500
    failed = post(sandbox, "/analytics/1/report", body)
    assert failed.status_code == 500 and "injected 500" in failed.json()["message"]


# --- dialogops sandbox serve -------------------------------------------------------------


def test_serve_prints_url_and_token_serves_and_exits_0_on_ctrl_c(tmp_path):
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dialogops",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--fail-status",
            "429",
            "--fail-count",
            "1",
            "--retry-after",
            "2",
        ],
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith("Dialog API sandbox listening on http://127.0.0.1:"), first
            url = first.split()[-1]
            assert process.stdout.readline().split() == ["token:", SANDBOX_TOKEN]
            limited = requests.post(url + "/campaigns", json=create_body(), headers=AUTH, timeout=5)
            assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
            created = requests.post(url + "/campaigns", json=create_body(), headers=AUTH, timeout=5)
            assert created.status_code == 200
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert (tmp_path / ".dialogops" / "sandbox.db").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "error: the sandbox listens on loopback only, not on '0.0.0.0'"),
        (["--retry-after", "3"], "error: --retry-after needs --fail-status 429 or 503"),
    ],
)
def test_serve_rejects_bad_options_without_a_traceback(tmp_path, args, message):
    result = run_cli(["sandbox", "serve", "--port", "0", *args], cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("option", ["--latency", "--retry-after", "--timeout-after-store"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nan", "'nan' is not a number of seconds"),
        ("inf", "'inf' is not a number of seconds"),
        ("1e999", "'1e999' is not a number of seconds"),
        ("-1", "-1.0 is not in the range x>=0."),
    ],
)
def test_serve_refuses_seconds_that_are_not_finite(tmp_path, option, value, reason):
    result = run_cli(["sandbox", "serve", "--port", "0", option, value], cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.endswith(f"\nError: Invalid value for '{option}': {reason}\n")
    assert not (tmp_path / ".dialogops").exists()  # refused before anything started


def test_serve_reports_a_busy_port(tmp_path, sandbox):
    result = run_cli(["sandbox", "serve", "--port", str(sandbox.port)], cwd=tmp_path)
    assert result.returncode == 1
    assert f"error: the sandbox cannot listen on 127.0.0.1:{sandbox.port}" in result.stderr


def test_serve_reports_a_database_it_cannot_open(tmp_path):
    (tmp_path / "notes.db").write_text("not a database\n")
    result = run_cli(["sandbox", "serve", "--port", "0", "--db", "notes.db"], cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "error: notes.db: cannot open the sandbox database: file is not a database\n"
    )
    assert result.stdout == ""


def test_serve_writes_the_ready_file_and_stops_on_sigterm_within_a_second(tmp_path):
    ready = tmp_path / "ci" / "sandbox.url"
    ready.parent.mkdir()
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dialogops",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ],
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            wait_for(ready.exists, "the ready file", timeout=30)
            url = ready.read_text("utf-8").strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/api")
            answered = requests.post(
                url + "/campaigns", json=create_body(), headers=AUTH, timeout=5
            )
            assert answered.status_code == 200
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=10)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, stderr
    assert took < 1, f"SIGTERM took {took:.2f}s"
    assert "Traceback" not in stderr
    assert not ready.exists()  # a stale URL would mislead the next job
    assert [p.name for p in ready.parent.iterdir()] == []  # no temp file left either


def test_login_accepts_the_oauth2_form_and_can_refuse_it(sandbox):
    form = {"username": SANDBOX_LOGIN, "password": SANDBOX_PASSWORD}
    good = requests.post(sandbox.url + "/login", data=form, timeout=5)
    assert good.status_code == 200 and good.json()["access_token"] == SANDBOX_TOKEN
    missing = requests.post(sandbox.url + "/login", data={"username": "x"}, timeout=5)
    assert missing.status_code == 422
    assert missing.json()["message"] == "password: required form field is missing"
    sandbox.faults.login_form_status = 415
    refused = requests.post(sandbox.url + "/login", data=form, timeout=5)
    assert refused.status_code == 415
    as_json = post(sandbox, "/login", {"login": SANDBOX_LOGIN, "password": SANDBOX_PASSWORD}, {})
    assert as_json.status_code == 200


def test_tokens_expire_after_n_requests_and_a_login_gives_a_new_one(sandbox):
    sandbox.faults.token_lifetime = 2
    login = {"login": SANDBOX_LOGIN, "password": SANDBOX_PASSWORD}
    token = post(sandbox, "/login", login, {}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert [post(sandbox, "/campaigns", create_body(), auth).status_code for _ in range(3)] == [
        200,
        200,
        401,
    ]
    assert post(sandbox, "/campaigns", create_body(), auth).json() == {"message": "token expired"}
    fresh = post(sandbox, "/login", login, {}).json()["access_token"]
    assert fresh != token
    assert post(sandbox, "/campaigns", create_body(), {"Authorization": f"Bearer {fresh}"}).ok
    assert len(sandbox.campaigns()) == 3
