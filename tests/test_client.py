"""The API client against the sandbox and a scripted server: one attempt, typed outcomes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dialogops.client.api import DialogClient
from dialogops.client.errors import (
    ApiAmbiguous,
    ApiRejected,
    ApiRetryLater,
    ApiUnauthorized,
    parse_retry_after,
)
from dialogops.errors import ApiError, UsageError
from dialogops.masking import redact, scrub
from dialogops.sandbox import SANDBOX_LOGIN, SANDBOX_PASSWORD, SANDBOX_TOKEN
from dialogops.specs import Config
from tests.conftest import upload

BODY: dict[str, Any] = {
    "campaign": {
        "project_id": 1,
        "name": "nps",
        "description": "",
        "start_block_id": 10,
        "schedule": {
            "date": "2099-12-01",
            "start_time": "09:00",
            "end_time": "17:00",
            "periods": {"id": 1, "title": "Однократно"},
            "attempts": {"id": 1, "title": "1"},
            "interval": "0",
        },
        "state": "Создано",
        "phone_id": 5,
    },
    "phones": [{"phone": "+79991234567", "add_data": {"name": "Иванов Иван", "n": 1}}],
}


def config(tmp_path: Path, url: str = "http://127.0.0.1:9/api") -> Config:
    return Config(root=tmp_path, path=None, api_url=url, timeout_seconds=5)


@pytest.fixture
def client(sandbox) -> Iterator[DialogClient]:
    with DialogClient(sandbox.url, token=SANDBOX_TOKEN, timeout=5) as api:
        yield api


# --- against the sandbox -----------------------------------------------------------------


def test_create_campaign_sends_the_body_once_and_returns_the_id(sandbox, client):
    campaign_id = client.create_campaign(*upload(BODY))
    [stored] = sandbox.campaigns()
    assert stored.id == campaign_id and stored.body == BODY
    [received] = sandbox.requests
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["User-Agent"].startswith("dialogops/")


def test_the_session_is_reused_between_calls(sandbox, client):
    client.create_campaign(*upload(BODY))
    client.create_campaign(*upload(BODY))
    assert len(sandbox.campaigns()) == 2
    assert len(client._session.adapters["http://"].poolmanager.pools) == 1


@pytest.mark.parametrize(
    ("status", "error", "retry_after"),
    [
        (400, ApiRejected, None),
        (404, ApiRejected, None),
        (422, ApiRejected, None),
        (401, ApiUnauthorized, None),
        (403, ApiUnauthorized, None),
        (429, ApiRetryLater, 2.5),
        (503, ApiAmbiguous, 4),
        (500, ApiAmbiguous, None),
        (502, ApiAmbiguous, None),
        (408, ApiAmbiguous, None),
    ],
)
def test_each_status_maps_to_its_error_and_is_not_retried(
    sandbox, client, status, error, retry_after
):
    sandbox.faults.update(status=status, status_count=1, retry_after=retry_after)
    with pytest.raises(ApiError) as caught:
        client.create_campaign(*upload(BODY))
    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.server_message.startswith(f"sandbox fault: injected {status}")
    assert f"HTTP {status}" in str(caught.value)
    if isinstance(caught.value, ApiRetryLater):
        assert caught.value.retry_after == retry_after
    assert len(sandbox.requests) == 1  # one attempt, whatever happened
    assert sandbox.campaigns() == []


def test_429_without_retry_after_waits_a_default(sandbox, client):
    sandbox.faults.update(status=429, status_count=1)
    with pytest.raises(ApiRetryLater) as caught:
        client.create_campaign(*upload(BODY))
    assert caught.value.retry_after == 1.0


def test_503_without_retry_after_is_ambiguous(sandbox, client):
    sandbox.faults.update(status=503, status_count=1)
    with pytest.raises(ApiAmbiguous):
        client.create_campaign(*upload(BODY))


def test_a_503_after_the_server_stored_is_ambiguous_unless_retry_503_opts_in(sandbox, client):
    sandbox.faults.update(status=503, status_count=2, retry_after=1, status_after_store=True)
    with pytest.raises(ApiAmbiguous, match=r"HTTP 503: .*\(the outcome is unknown\)"):
        client.create_campaign(*upload(BODY))
    assert len(sandbox.campaigns()) == 1  # it was stored: a retry would have made two

    with (
        DialogClient(sandbox.url, token=SANDBOX_TOKEN, timeout=5, retry_503=True) as opted,
        pytest.raises(ApiRetryLater) as caught,
    ):
        opted.create_campaign(*upload(BODY))
    assert caught.value.retry_after == 1


@pytest.mark.parametrize("answer", [0, -5, "12", 10**30, 2**63, 1.5, None, True, [7]])
def test_an_id_that_is_not_a_positive_integer_is_ambiguous(sandbox, client, answer):
    sandbox.faults.update(answer_id=answer if answer is not None else {"x": 1}, answer_id_count=1)
    with pytest.raises(ApiAmbiguous, match="positive integer") as caught:
        client.create_campaign(*upload(BODY))
    assert "the outcome is unknown" in str(caught.value)
    assert len(sandbox.campaigns()) == 1


def test_the_largest_64_bit_id_is_accepted(sandbox, client):
    sandbox.faults.update(answer_id=2**63 - 1, answer_id_count=1)
    assert client.create_campaign(*upload(BODY)) == 2**63 - 1


def test_a_validation_error_carries_the_servers_message(sandbox, client):
    body = json.loads(json.dumps(BODY))
    body["campaign"]["schedule"]["attempts"] = {"id": 2, "title": "3"}
    with pytest.raises(ApiRejected) as caught:
        client.create_campaign(*upload(body))
    assert caught.value.status == 422
    assert caught.value.server_message == (
        "campaign.schedule.attempts.title: must be \"2\" (equal to id), got '3'"
    )
    assert str(caught.value) == ("creating the campaign: HTTP 422: " + caught.value.server_message)


@pytest.mark.parametrize("point", ["before_store", "after_store"])
def test_a_dropped_connection_is_ambiguous_and_not_resent(sandbox, client, point):
    sandbox.faults.update(drop=point, drop_count=1)
    with pytest.raises(ApiAmbiguous, match="outcome is unknown") as caught:
        client.create_campaign(*upload(BODY))
    assert len(sandbox.requests) == 1
    # The innermost cause only, not urllib3's tuple of wrappers.
    assert str(caught.value) == (
        f"creating the campaign: the connection to {sandbox.url} broke before an answer "
        "(the outcome is unknown): Remote end closed connection without response"
    )


def test_a_timeout_after_the_server_stored_is_ambiguous(sandbox):
    sandbox.faults.timeout_after_store = 3
    with (
        DialogClient(sandbox.url, token=SANDBOX_TOKEN, timeout=0.3) as api,
        pytest.raises(ApiAmbiguous, match=r"no answer .* within 0.3s"),
    ):
        api.create_campaign(*upload(BODY))
    assert len(sandbox.campaigns()) == 1 and len(sandbox.requests) == 1


def test_a_200_without_an_id_is_ambiguous(sandbox, client):
    sandbox.faults.malformed_count = 1
    with pytest.raises(ApiAmbiguous, match=r"without a campaign\.id") as caught:
        client.create_campaign(*upload(BODY))
    assert caught.value.status == 200
    assert len(sandbox.campaigns()) == 1


def test_a_refused_connection_is_rejected_because_nothing_was_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with (
            DialogClient(f"http://127.0.0.1:{port}/api", token="t", timeout=2) as api,
            pytest.raises(ApiRejected, match="nothing was sent") as caught,
        ):
            api.create_campaign(*upload(BODY))
    assert type(caught.value) is ApiRejected and caught.value.status is None


def test_a_wrong_token_is_unauthorized(sandbox):
    with (
        DialogClient(sandbox.url, token="not-the-sandbox-token", timeout=5) as api,
        pytest.raises(ApiUnauthorized) as caught,
    ):
        api.create_campaign(*upload(BODY))
    assert caught.value.status == 401 and "credentials" in str(caught.value)


def test_open_report_streams_the_answer(sandbox, client):
    campaign_id = client.create_campaign(*upload(BODY))
    with client.open_report(
        1,
        {
            "analytics_filter": {
                "scenario_id": 951,
                "start_block_id": 10,
                "outgoing_campaign_id": campaign_id,
                "date_start": "2099-12-01T00:00:00.000Z",
                "date_end": "2099-12-02T00:00:00.000Z",
            },
            "columns": [
                {
                    "id": 1,
                    "name": "phone_number",
                    "display_name": "Phone",
                    "column_type": "field",
                    "data_type": "number",
                }
            ],
        },
    ) as answer:
        report = json.loads(answer.read_all())
    assert report["data"] == [{"phone_number": "+79991234567"}]
    assert report["count"] == 1
    with (
        pytest.raises(ApiRejected, match="HTTP 404: campaign 999999 not found"),
        client.open_report(
            1,
            {
                "analytics_filter": {
                    "scenario_id": 951,
                    "start_block_id": 10,
                    "outgoing_campaign_id": 999999,
                    "date_start": "2099-12-01T00:00:00.000Z",
                    "date_end": "2099-12-02T00:00:00.000Z",
                },
                "columns": [
                    {
                        "id": 1,
                        "name": "status",
                        "display_name": "S",
                        "column_type": "field",
                        "data_type": "text",
                    }
                ],
            },
        ),
    ):
        pass


# --- credentials from the environment ----------------------------------------------------


def test_from_environment_prefers_the_env_url_and_token(sandbox, tmp_path):
    env = {
        "DIALOG_API_URL": sandbox.url,
        "DIALOG_TOKEN": SANDBOX_TOKEN,
        "DIALOG_LOGIN": "ignored",
        "DIALOG_PASSWORD": "ignored",
    }
    with DialogClient.from_environment(config(tmp_path), env) as api:
        assert api.base_url == sandbox.url and api.timeout == 5
        api.create_campaign(*upload(BODY))
    assert [r.path for r in sandbox.requests] == ["/api/campaigns"]


def test_from_environment_uses_the_config_url(sandbox, tmp_path):
    with DialogClient.from_environment(
        config(tmp_path, sandbox.url + "/"), {"DIALOG_TOKEN": SANDBOX_TOKEN}
    ) as api:
        assert api.base_url == sandbox.url


def test_from_environment_logs_in_with_login_and_password(sandbox, tmp_path):
    env = {"DIALOG_LOGIN": SANDBOX_LOGIN, "DIALOG_PASSWORD": SANDBOX_PASSWORD}
    with DialogClient.from_environment(config(tmp_path, sandbox.url), env) as api:
        api.create_campaign(*upload(BODY))
    login, create = sandbox.requests
    assert login.path == "/api/login" and "Authorization" not in login.headers
    assert login.body == {"username": SANDBOX_LOGIN, "password": "<redacted>"}
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert create.path == "/api/campaigns" and len(sandbox.campaigns()) == 1


def test_a_failed_login_is_unauthorized_and_hides_the_password(sandbox, tmp_path):
    env = {"DIALOG_LOGIN": SANDBOX_LOGIN, "DIALOG_PASSWORD": "hunter2-secret"}
    with pytest.raises(ApiUnauthorized) as caught:
        DialogClient.from_environment(config(tmp_path, sandbox.url), env)
    assert "logging in: HTTP 401: wrong login or password" in str(caught.value)
    assert "hunter2-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no Dialog API credentials: set DIALOG_TOKEN, or DIALOG_LOGIN and DIALOG_PASSWORD"),
        ({"DIALOG_LOGIN": "me"}, "DIALOG_LOGIN is set but DIALOG_PASSWORD is not"),
        ({"DIALOG_PASSWORD": "pw"}, "DIALOG_PASSWORD is set but DIALOG_LOGIN is not"),
        ({"DIALOG_TOKEN": " "}, "no Dialog API credentials"),
    ],
)
def test_missing_credentials_say_which_variables_to_set(tmp_path, env, message):
    with pytest.raises(UsageError, match=message):
        DialogClient.from_environment(config(tmp_path), env)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/api",
        "http://[::1/api",
        "http://127.0.0.1:abc/api",
        "http:///api",
        "http://127.0.0.1:0/api",
    ],
)
def test_a_url_that_is_not_http_is_a_usage_error_before_anything_is_sent(url):
    with pytest.raises(UsageError) as caught:
        DialogClient(url, token="t")
    assert str(caught.value) == f"the Dialog API URL {url!r} is not an http(s) URL"


# --- a scripted server for answers the sandbox never gives -------------------------------


class Scripted:
    """Answers each request with the next scripted (status, headers, body)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                raw = self.rfile.read(length)
                form = self.headers.get_content_type() == "application/x-www-form-urlencoded"
                owner.seen.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": dict(urllib.parse.parse_qsl(raw.decode()))
                        if form
                        else json.loads(raw),
                    }
                )
                status, headers, body = owner.answers.pop(0)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"
        # A short poll: shutdown() waits for the loop to look (0.5 s by default).
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers.append((status, headers or {}, raw))


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    server.thread.join()


@pytest.mark.parametrize(
    "answer",
    [
        {"access_token": "tok-1"},
        {"data": {"token": "tok-1"}},
        {"data": {"access_token": "tok-1"}},
    ],
)
def test_login_reads_the_token_from_any_documented_field(scripted, tmp_path, answer):
    scripted.answer(200, answer)
    scripted.answer(200, {"campaign": {"id": 42}})
    env = {"DIALOG_LOGIN": "me", "DIALOG_PASSWORD": "pw-1"}
    with DialogClient.from_environment(config(tmp_path, scripted.url), env) as api:
        assert api.create_campaign(*upload(BODY)) == 42
    assert scripted.seen[0]["body"] == {"username": "me", "password": "pw-1"}
    assert scripted.seen[1]["auth"] == "Bearer tok-1"


@pytest.mark.parametrize("token", ["токен-7f3a", "tok ab12", "tok\nab12", "tok\x01ab12"])
def test_a_token_that_cannot_be_a_header_is_refused_before_anything_is_sent(
    scripted, tmp_path, token
):
    with pytest.raises(UsageError) as caught:
        DialogClient.from_environment(config(tmp_path, scripted.url), {"DIALOG_TOKEN": token})
    assert str(caught.value) == (
        "DIALOG_TOKEN cannot be a bearer token: it holds spaces, control or non-ASCII characters"
    )
    assert scripted.seen == []


def test_a_login_answer_with_an_unusable_token_is_an_error_not_shown(scripted, tmp_path):
    scripted.answer(200, {"token": "tok\nsecret-9"})
    with pytest.raises(ApiError, match="cannot be a bearer token") as caught:
        DialogClient.from_environment(
            config(tmp_path, scripted.url), {"DIALOG_LOGIN": "me", "DIALOG_PASSWORD": "pw-3"}
        )
    assert "secret-9" not in str(caught.value)
    assert len(scripted.seen) == 1


def test_a_login_answer_without_a_token_is_an_error(scripted, tmp_path):
    scripted.answer(200, {"ok": True})
    with pytest.raises(ApiError, match="the answer holds no token"):
        DialogClient.from_environment(
            config(tmp_path, scripted.url), {"DIALOG_LOGIN": "me", "DIALOG_PASSWORD": "pw-2"}
        )


def test_secrets_are_redacted_from_errors_and_logs(scripted, tmp_path, caplog):
    token = "tok-very-distinctive-9c1f"
    scripted.answer(400, {"message": f"bad token {token} for this call"})
    caplog.set_level(logging.DEBUG)
    with DialogClient(scripted.url, token=token) as api, pytest.raises(ApiRejected) as caught:
        api.create_campaign(*upload(BODY))
    logging.getLogger("dialogops.client").debug("leak attempt: %s", token)
    assert caught.value.server_message == "bad token *** for this call"
    assert token not in str(caught.value)
    assert caplog.records and token not in caplog.text
    assert "leak attempt: ***" in caplog.text
    assert redact(f"x{token}y") == "x***y"


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "text"),
    [
        (200, {"campaign": {"id": "12"}}, {}, ApiAmbiguous, 'the answer was {"campaign"'),
        (200, {"campaign": {"id": True}}, {}, ApiAmbiguous, "a positive integer"),
        (
            200,
            {"campaign": {"id": -5}, "phones": ["+79991234567"]},
            {},
            ApiAmbiguous,
            'the answer was {"campaign": {"id": -5}, "phones": ["+7999*****67"]}',  # as shown
        ),
        (200, b"<html>ok</html>", {}, ApiAmbiguous, "not JSON"),
        (502, b"<html><h1>Bad Gateway</h1></html>", {}, ApiAmbiguous, "HTTP 502: <html><h1>Bad"),
        (302, b"", {"Location": "http://127.0.0.1:9/login"}, ApiAmbiguous, "HTTP 302"),
        (400, {"error": "phones are missing"}, {}, ApiRejected, "HTTP 400: phones are missing"),
        (429, b"", {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, ApiRetryLater, "HTTP 429"),
    ],
)
def test_unusual_answers(scripted, status, body, headers, error, text):
    scripted.answer(status, body, headers)
    with DialogClient(scripted.url, token="t") as api, pytest.raises(ApiError) as caught:
        api.create_campaign(*upload(BODY))
    assert type(caught.value) is error
    assert text in scrub(str(caught.value))
    assert len(scripted.seen) == 1


def test_only_a_create_calls_a_server_error_an_unknown_outcome(scripted):
    scripted.answer(500, {"message": "boom"})
    scripted.answer(500, {"message": "boom"})
    with DialogClient(scripted.url, token="t") as api:
        with pytest.raises(ApiAmbiguous) as create:
            api.create_campaign(*upload(BODY))
        with pytest.raises(ApiAmbiguous) as report, api.open_report(1, {}):
            pass
    assert str(create.value) == "creating the campaign: HTTP 500: boom (the outcome is unknown)"
    assert str(report.value) == "fetching the report: HTTP 500: boom"


def test_parse_retry_after():
    now = dt.datetime(2099, 10, 21, 7, 27, 30, tzinfo=dt.UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Wed, 21 Oct 2099 07:28:00 GMT", now=now) == 30
    assert parse_retry_after("Wed, 21 Oct 2099 07:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --- logging in as the platform does, and again when the token expires --------------------


def login_env() -> dict[str, str]:
    return {"DIALOG_LOGIN": SANDBOX_LOGIN, "DIALOG_PASSWORD": SANDBOX_PASSWORD}


def logins(sandbox) -> list[str]:
    """The Content-Type of each login the sandbox received, in order."""
    return [r.headers["Content-Type"] for r in sandbox.requests if r.path == "/api/login"]


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("status", [415, 422])
def test_a_server_refusing_the_login_form_gets_the_json_login(sandbox, tmp_path, status):
    sandbox.faults.login_form_status = status
    with DialogClient.from_environment(config(tmp_path, sandbox.url), login_env()) as api:
        api.create_campaign(*upload(BODY))
    assert logins(sandbox) == [FORM, "application/json"]
    assert sandbox.requests[1].body == {"login": SANDBOX_LOGIN, "password": "<redacted>"}
    assert len(sandbox.campaigns()) == 1


def test_a_form_login_refused_otherwise_is_not_retried_as_json(sandbox, tmp_path):
    with pytest.raises(ApiUnauthorized, match="logging in: HTTP 401: wrong login or password"):
        DialogClient.from_environment(
            config(tmp_path, sandbox.url), {**login_env(), "DIALOG_PASSWORD": "wrong-password"}
        )
    assert logins(sandbox) == [FORM]


@pytest.mark.parametrize(
    ("pinned", "refused", "sent"),
    [("json", None, ["application/json"]), ("form", 415, [FORM])],
)
def test_login_format_pins_one_body(sandbox, tmp_path, pinned, refused, sent):
    sandbox.faults.login_form_status = refused
    pinned_config = dataclasses.replace(config(tmp_path, sandbox.url), login_format=pinned)
    if refused is None:
        with DialogClient.from_environment(pinned_config, login_env()) as api:
            api.create_campaign(*upload(BODY))
    else:
        with pytest.raises(ApiRejected, match="logging in: HTTP 415"):
            DialogClient.from_environment(pinned_config, login_env())
    assert logins(sandbox) == sent


def test_an_expired_token_means_one_new_login_and_the_call_once_more(sandbox, tmp_path):
    sandbox.faults.token_lifetime = 1  # every token serves one request
    with DialogClient.from_environment(config(tmp_path, sandbox.url), login_env()) as api:
        first = api.create_campaign(*upload(BODY))
        second = api.create_campaign(*upload(BODY))  # 401 "token expired", login, sent again
    paths = [r.path for r in sandbox.requests]
    assert paths == [
        "/api/login",
        "/api/campaigns",
        "/api/campaigns",
        "/api/login",
        "/api/campaigns",
    ]
    auths = [r.headers.get("Authorization") for r in sandbox.requests]
    assert auths[2] == auths[1] == "<redacted>"
    assert [c.id for c in sandbox.campaigns()] == [first, second]


def test_a_second_401_stops_as_before(sandbox, tmp_path):
    sandbox.faults.token_lifetime = 1
    with DialogClient.from_environment(config(tmp_path, sandbox.url), login_env()) as api:
        api.create_campaign(*upload(BODY))
        sandbox.faults.update(status=401, status_count=2)
        with pytest.raises(ApiUnauthorized, match="HTTP 401"):
            api.create_campaign(*upload(BODY))
    assert [r.path for r in sandbox.requests].count("/api/login") == 2
    assert len(sandbox.campaigns()) == 1


def test_a_report_is_fetched_again_after_a_new_login(sandbox, tmp_path):
    with DialogClient(sandbox.url, token=SANDBOX_TOKEN) as setup:
        campaign_id = setup.create_campaign(*upload(BODY))
    sandbox.faults.token_lifetime = 1
    body = {
        "analytics_filter": {
            "scenario_id": 951,
            "start_block_id": 10,
            "outgoing_campaign_id": campaign_id,
            "date_start": "2099-12-01T00:00:00.000Z",
            "date_end": "2099-12-02T00:00:00.000Z",
        },
        "columns": [
            {
                "id": 1,
                "name": "status",
                "display_name": "S",
                "column_type": "field",
                "data_type": "text",
            }
        ],
    }
    with DialogClient.from_environment(config(tmp_path, sandbox.url), login_env()) as api:
        with api.open_report(1, body) as answer:
            assert json.loads(answer.read_all())["count"] == 1
        with api.open_report(1, body) as answer:  # the token has expired by now
            assert json.loads(answer.read_all())["count"] == 1
    assert [r.path for r in sandbox.requests if r.path == "/api/login"] == ["/api/login"] * 2


def test_a_static_token_that_expires_is_not_renewed(sandbox):
    sandbox.faults.token_lifetime = 1
    with DialogClient(sandbox.url, token=SANDBOX_TOKEN) as api:
        api.create_campaign(*upload(BODY))
        with pytest.raises(ApiUnauthorized, match="HTTP 401: token expired"):
            api.create_campaign(*upload(BODY))
    assert len(sandbox.campaigns()) == 1


def test_a_long_server_message_is_cut_only_after_the_token_is_hidden(scripted):
    token = "acc-token-7f3e9a8b1c2d"
    scripted.answer(400, {"message": "p" * 495 + f" {token} " + "q" * 600})
    with DialogClient(scripted.url, token=token) as api, pytest.raises(ApiRejected) as caught:
        api.create_campaign(*upload(BODY))
    shown = scrub(str(caught.value))
    assert "acc-token" not in shown and "7f3e" not in shown
    assert "p *** q" in shown
    assert len(shown) == 1003 and shown.endswith("...")


def test_the_url_userinfo_is_never_shown(scripted):
    url = scripted.url.replace("http://", "http://robot:s3cret-pass@")
    scripted.answer(500, {"message": "upstream http://robot:s3cret-pass@10.0.0.1 failed"})
    with DialogClient(url, token="t0ken") as api, pytest.raises(ApiAmbiguous) as caught:
        api.create_campaign(*upload(BODY))
    assert api.shown_url == scripted.url.replace("http://", "http://***@")
    assert "s3cret" not in scrub(str(caught.value))
    assert "upstream http://***@10.0.0.1 failed" in scrub(str(caught.value))


def test_a_report_larger_than_the_cap_is_refused(sandbox):
    with DialogClient(sandbox.url, token=SANDBOX_TOKEN) as setup:
        campaign_id = setup.create_campaign(*upload(BODY))
    sandbox.faults.report_rows = 1000
    body = {
        "analytics_filter": {
            "scenario_id": 951,
            "start_block_id": 10,
            "outgoing_campaign_id": campaign_id,
            "date_start": "2099-12-01T00:00:00.000Z",
            "date_end": "2099-12-02T00:00:00.000Z",
        },
        "columns": [
            {
                "id": 1,
                "name": "status",
                "display_name": "S",
                "column_type": "field",
                "data_type": "text",
            }
        ],
    }
    with (
        DialogClient(sandbox.url, token=SANDBOX_TOKEN, max_report_bytes=10_000) as api,
        api.open_report(1, body) as answer,
        pytest.raises(ApiError) as caught,
    ):
        answer.read_all()
    assert str(caught.value) == (
        "fetching the report: the answer is larger than 10,000 bytes; refused "
        "(narrow the period or the filters)"
    )
