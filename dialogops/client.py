"""The Dialog API client: the only module that talks HTTP.

Each call is one attempt: nothing here retries, because a create is not idempotent. What
a failure proves decides its type, so `apply` knows whether a campaign might exist:

    ApiError                (dialogops.errors)
    ├── ApiRejected         the answer proves nothing was created (4xx, refused connection)
    │   └── ApiUnauthorized 401/403: the credentials are wrong; stop everything
    ├── ApiRetryLater       429 (503 only if `api.retry_503` opts in): try again later
    └── ApiAmbiguous        the outcome is unknown (timeout, dropped connection, 5xx, ...)

Token and password are replaced by `***` in every error message and log line.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import time
import urllib.parse
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dialogops import __version__
from dialogops.errors import ApiError, UsageError
from dialogops.masking import mask_numbers, redact, secrets
from dialogops.specs import Config

DEFAULT_RETRY_AFTER = 1.0  # seconds, for a 429 that does not say how long to wait
_MAX_CONNECT_TIMEOUT = 10.0
_MAX_MESSAGE = 500
_POOL_SIZE = 64
# The largest campaign ID accepted from a create: a signed 64-bit integer, what any
# platform database column can hold. Anything else is not an ID the API could give.
MAX_CAMPAIGN_ID = 2**63 - 1

log = logging.getLogger("dialogops.client")
log.addFilter(secrets)


class ApiRejected(ApiError):
    """The answer proves nothing was created: a 4xx (not 408/429), or nothing was sent."""


class ApiUnauthorized(ApiRejected):
    """The API refused the credentials (401 or 403); every further call would fail too."""


class ApiRetryLater(ApiError):
    """A rate limiter refused the call (429; 503 only with `api.retry_503`): nothing created."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        status: int | None = None,
        server_message: str = "",
    ) -> None:
        super().__init__(message, status=status, server_message=server_message)
        self.retry_after = retry_after


class ApiAmbiguous(ApiError):
    """The request may or may not have taken effect: it must never be resent blindly."""


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _server_message(response: requests.Response) -> str:
    """What the server said: a JSON `message`-like field, else the body's text, trimmed."""
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "errors"):
            if data.get(key):
                value = data[key]
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                break
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "..."
    return redact(text or response.reason or "")


_OUTCOME_UNKNOWN = " (the outcome is unknown)"


def _error_for(
    response: requests.Response, action: str, unknown: str, *, retry_503: bool = False
) -> ApiError:
    """The typed error for a non-success answer to `action`; `unknown` ends ambiguous ones.

    A 503 is ambiguous even with Retry-After: a server may store a campaign and then fail,
    and the API documents no rate limiting. Only `retry_503` (api.retry_503) retries it.
    """
    status = response.status_code
    said = _server_message(response)
    what = f"{action}: HTTP {status}" + (f": {said}" if said else "")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status in (401, 403):
        return ApiUnauthorized(
            f"{what} (check the API credentials)", status=status, server_message=said
        )
    if status == 429 or (status == 503 and retry_after is not None and retry_503):
        wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        return ApiRetryLater(
            f"{what} (retry after {wait:g}s)", retry_after=wait, status=status, server_message=said
        )
    if 400 <= status < 500 and status != 408:
        return ApiRejected(what, status=status, server_message=said)
    return ApiAmbiguous(f"{what}{unknown}", status=status, server_message=said)


def _never_sent(exc: requests.ConnectionError) -> bool:
    """Whether a connection error happened before any byte of the request was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return True  # refused, unreachable, or the name did not resolve
    # A failed certificate check ends the TLS handshake, before the request is written.
    return isinstance(exc, requests.exceptions.SSLError) and "certificate" in str(exc).lower()


class _BearerAuth(requests.auth.AuthBase):
    """Sets the bearer token; as the session's auth it also keeps ~/.netrc from overriding."""

    def __init__(self, client: DialogClient) -> None:
        self._client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._client._token:
            request.headers["Authorization"] = f"Bearer {self._client._token}"
        return request


class DialogClient:
    """One keep-alive session to the Dialog API at `base_url` (e.g. https://host/api)."""

    def __init__(
        self, base_url: str, *, token: str, timeout: float = 30.0, retry_503: bool = False
    ) -> None:
        try:
            parts = urllib.parse.urlsplit(base_url)
            valid = (
                parts.scheme in ("http", "https")
                and bool(parts.hostname)
                and (parts.port is None or parts.port > 0)
            )
        except ValueError:  # e.g. an unclosed IPv6 bracket or a port that is not a number
            valid = False
        if not valid:
            raise UsageError(f"the Dialog API URL {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_503 = retry_503
        self._token = token
        secrets.add(token)
        self._session = requests.Session()
        # No retries at any level: a POST resent after a dropped connection may create a
        # second campaign, and redirects are not followed for the same reason.
        # A pool as large as any sensible --parallelism, so parallel creates reuse
        # connections instead of urllib3 discarding them with a warning.
        adapter = HTTPAdapter(
            pool_maxsize=_POOL_SIZE,
            max_retries=Retry(
                total=0,
                connect=0,
                read=False,
                redirect=False,
                status=0,
                other=0,
                raise_on_status=False,
            ),
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.auth = _BearerAuth(self)
        self._session.headers.update(
            {"Accept": "application/json", "User-Agent": f"dialogops/{__version__}"}
        )

    @classmethod
    def from_environment(cls, config: Config, env: Mapping[str, str] | None = None) -> DialogClient:
        """A client for `DIALOG_API_URL` (else the config's URL) with credentials from env.

        `DIALOG_TOKEN` is used as is; otherwise `DIALOG_LOGIN` and `DIALOG_PASSWORD` are
        exchanged for a token at `POST {url}/login`.
        """
        env = os.environ if env is None else env
        base_url = env.get("DIALOG_API_URL", "").strip() or config.api_url
        token = env.get("DIALOG_TOKEN", "").strip()
        if token:
            if not _usable_token(token):
                secrets.add(token)
                raise UsageError(
                    "DIALOG_TOKEN cannot be a bearer token: it holds spaces, "
                    "control or non-ASCII characters"
                )
            return cls(
                base_url, token=token, timeout=config.timeout_seconds, retry_503=config.retry_503
            )
        login = env.get("DIALOG_LOGIN", "")
        password = env.get("DIALOG_PASSWORD", "")
        if login and password:
            return cls.login(
                base_url,
                login=login,
                password=password,
                timeout=config.timeout_seconds,
                retry_503=config.retry_503,
            )
        if login or password:
            given, missing = (
                ("DIALOG_LOGIN", "DIALOG_PASSWORD")
                if login
                else ("DIALOG_PASSWORD", "DIALOG_LOGIN")
            )
            raise UsageError(f"{given} is set but {missing} is not: set both, or DIALOG_TOKEN")
        raise UsageError(
            "no Dialog API credentials: set DIALOG_TOKEN, or DIALOG_LOGIN and DIALOG_PASSWORD "
            "(or use --sandbox to try against the built-in sandbox)"
        )

    @classmethod
    def login(
        cls,
        base_url: str,
        *,
        login: str,
        password: str,
        timeout: float = 30.0,
        retry_503: bool = False,
    ) -> DialogClient:
        """A client whose token comes from `POST {base_url}/login`."""
        secrets.add(password)
        client = cls(base_url, token="", timeout=timeout, retry_503=retry_503)
        try:
            data = client._post_json(
                "/login", {"login": login, "password": password}, action="logging in", unknown=""
            )
            token = _find_token(data)
            if token is None:
                raise ApiError(
                    "logging in: the answer holds no token (looked for token, access_token, "
                    "data.token and data.access_token)",
                    status=200,
                )
            if not _usable_token(token):
                secrets.add(token)
                raise ApiError(
                    "logging in: the token in the answer cannot be a bearer token "
                    "(spaces, control or non-ASCII characters)",
                    status=200,
                )
        except BaseException:
            client.close()
            raise
        secrets.add(token)
        client._token = token
        return client

    def create_campaign(self, body: Mapping[str, Any]) -> int:
        """Create one campaign and return its ID. One attempt; never retried."""
        phones = body.get("phones")
        log.debug(
            "creating campaign %r with %d phones",
            (body.get("campaign") or {}).get("name"),
            len(phones) if isinstance(phones, list) else 0,
        )
        data = self._post_json(
            "/campaigns", body, action="creating the campaign", unknown=_OUTCOME_UNKNOWN
        )
        campaign = data.get("campaign") if isinstance(data, dict) else None
        campaign_id = campaign.get("id") if isinstance(campaign, dict) else None
        if not is_campaign_id(campaign_id):
            answer = mask_numbers(redact(json.dumps(data, ensure_ascii=False)))
            raise ApiAmbiguous(
                "creating the campaign: HTTP 200 without a campaign.id that is a positive "
                f"integer{_OUTCOME_UNKNOWN}: the answer was {_cut(answer, 200)}",
                status=200,
            )
        assert isinstance(campaign_id, int)  # is_campaign_id checked it
        log.debug("created campaign %d", campaign_id)
        return campaign_id

    def report(self, project_id: int, body: Mapping[str, Any]) -> Any:
        """The decoded answer of `POST /analytics/{project_id}/report`.

        A report only reads, so a failure is just a failure; the caller checks the shape.
        """
        return self._post_json(
            f"/analytics/{project_id}/report", body, action="fetching the report", unknown=""
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> DialogClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _post_json(self, path: str, body: Mapping[str, Any], *, action: str, unknown: str) -> Any:
        """POST `body` once and return the decoded JSON of a 2xx answer.

        `unknown` is appended to errors that leave the outcome open (for creates).
        """
        url = self.base_url + path
        started = time.monotonic()
        try:
            response = self._session.post(
                url,
                json=body,
                allow_redirects=False,
                timeout=(min(self.timeout, _MAX_CONNECT_TIMEOUT), self.timeout),
            )
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                raise ApiRejected(
                    f"{action}: cannot connect to {self.base_url} (nothing was sent): "
                    f"{_reason(exc)}"
                ) from None
            raise ApiAmbiguous(
                f"{action}: the connection to {self.base_url} broke before an answer"
                f"{unknown}: {_reason(exc)}"
            ) from None
        except requests.Timeout:
            raise ApiAmbiguous(
                f"{action}: no answer from {self.base_url} within {self.timeout:g}s{unknown}"
            ) from None
        except requests.RequestException as exc:
            raise ApiAmbiguous(f"{action}: {_reason(exc)}{unknown}") from None
        log.debug("POST %s -> %d in %.3fs", url, response.status_code, time.monotonic() - started)
        if not 200 <= response.status_code < 300:
            error = _error_for(response, action, unknown, retry_503=self.retry_503)
            log.debug("%s", error)
            raise error
        try:
            return response.json()
        except ValueError:
            raise ApiAmbiguous(
                f"{action}: HTTP {response.status_code} with a body that is not JSON{unknown}",
                status=response.status_code,
                server_message=_server_message(response),
            ) from None


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, without the noise around it."""
    reason: object = exc
    while True:
        # urllib3 wraps causes as `.reason`, or as the last argument after a label, e.g.
        # ProtocolError('Connection aborted.', RemoteDisconnected(...)).
        wrapped = (
            [a for a in reason.args if isinstance(a, BaseException)]
            if isinstance(reason, BaseException)
            else []
        )
        inner = getattr(reason, "reason", None) or (wrapped[-1] if wrapped else None)
        if inner is None or inner is reason:
            break
        reason = inner
    text = str(reason)
    # urllib3 prefixes "<HTTPConnection object at 0x...>: "; the address adds nothing.
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return redact(text)


def is_campaign_id(value: object) -> bool:
    """Whether `value` can be a campaign ID: an integer from 1 to MAX_CAMPAIGN_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_CAMPAIGN_ID


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _usable_token(token: str) -> bool:
    """Whether `token` can be sent in a header; anything else fails only once sending began."""
    return token.isascii() and token.isprintable() and not any(c.isspace() for c in token)


def _find_token(data: Any) -> str | None:
    for holder in (data, data.get("data") if isinstance(data, dict) else None):
        if isinstance(holder, dict):
            for key in ("token", "access_token"):
                if isinstance(holder.get(key), str) and holder[key]:
                    return str(holder[key])
    return None
