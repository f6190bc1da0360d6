"""The Dialog API client: the only module that talks HTTP.

Each call is one attempt: nothing here retries, because a create is not idempotent. What
a failure proves decides its type, so `apply` knows whether a campaign might exist:

    ApiError                (dialogops.errors)
    ├── ApiRejected         the answer proves nothing was created (4xx, refused connection)
    │   └── ApiUnauthorized 401/403: the credentials are wrong; stop everything
    ├── ApiRetryLater       429 (503 only if `api.retry_503` opts in): try again later
    └── ApiAmbiguous        the outcome is unknown (timeout, dropped connection, 5xx, ...)

Every request has a total deadline (`timeout`) and every answer a decoded size cap; a
report is streamed (`open_report`). Token and password are replaced by `***` in every
error message and log line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from dialogops import __version__
from dialogops.errors import ApiError, UsageError
from dialogops.masking import ScrubFilter, redact, secrets
from dialogops.specs import MAX_ID, Config

_T = TypeVar("_T")

LoginFormat = Literal["form", "json"]

DEFAULT_RETRY_AFTER = 1.0  # seconds, for a 429 that does not say how long to wait
_MAX_CONNECT_TIMEOUT = 10.0
_POOL_SIZE = 64
# Decoded sizes read at most: a create answers `{"campaign": {"id": N}}` (about 30 bytes)
# and an error a message; only a report is large, and it is streamed, never held.
MAX_ANSWER_BYTES = 16 * 1024
MAX_ERROR_BYTES = 64 * 1024
MAX_REPORT_BYTES = 2 * 1024**3
_CHUNK = 64 * 1024
# A base URL and host name any request could go to (RFC 1035 sizes; `_` as Docker allows).
_MAX_URL = 2048
_MAX_HOST = 253
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# What a server that does not take the login form answers it with; then JSON is tried.
_FORM_REFUSED = (415, 422)

log = logging.getLogger("dialogops.client")
log.addFilter(ScrubFilter())


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


def _server_message(text: str, reason: str) -> str:
    """What the server said: a JSON `message`-like field, else the body's text, on one line."""
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
    return redact(" ".join(text.split()) or reason)


_OUTCOME_UNKNOWN = " (the outcome is unknown)"


def _error_for(
    status: int,
    said: str,
    retry_after_header: str | None,
    action: str,
    unknown: str,
    *,
    retry_503: bool = False,
) -> ApiError:
    """The typed error for a non-success answer to `action`; `unknown` ends ambiguous ones.

    A 503 is ambiguous even with Retry-After: a server may store a campaign and then fail,
    and the API documents no rate limiting. Only `retry_503` (api.retry_503) retries it.
    """
    what = f"{action}: HTTP {status}" + (f": {said}" if said else "")
    retry_after = parse_retry_after(retry_after_header)
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


# --- the total deadline of a request ---------------------------------------------------
#
# requests and urllib3 time out each socket operation, so a server trickling one byte a
# second never times out. Each request runs under a `_Deadline`: a timer that, when the
# request's time is up, shuts down the socket its connection uses, which wakes any send or
# receive at once. Connections bind to the deadline of the thread that uses them and are
# unbound when they go back to the pool, so a timer never touches another request's socket.

_current = threading.local()
_binding = threading.Lock()


class _Deadline:
    """The whole time one request may take, sending and answer included."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.sent = False  # whether the request started to be written: then it may have arrived
        self._connections: list[HTTPConnection] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None
        with _binding:
            for connection in self._connections:
                _bound.pop(connection, None)

    def _expire(self) -> None:
        with _binding:
            self.expired = True
            for connection in self._connections:
                if _bound.get(connection) is self:
                    _shut(connection)


_bound: weakref.WeakKeyDictionary[HTTPConnection, _Deadline] = weakref.WeakKeyDictionary()


def _shut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _bind(connection: HTTPConnection, *, sending: bool) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is None:
        return
    with _binding:
        if _bound.get(connection) is not deadline:
            _bound[connection] = deadline
            deadline._connections.append(connection)
        deadline.sent = deadline.sent or sending
        if deadline.expired:
            _shut(connection)


def _unbind(connection: object) -> None:
    if isinstance(connection, HTTPConnection):  # urllib3 puts back None for a dead one
        with _binding:
            _bound.pop(connection, None)


class _HTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _bind(self, sending=False)

    def request(self, *args: Any, **kwargs: Any) -> None:
        # Connected first, so that `sent` means the request itself started to go out.
        if self.sock is None:
            self.connect()
        _bind(self, sending=True)
        super().request(*args, **kwargs)


class _HTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()  # the TLS handshake: a failure here means nothing was sent
        _bind(self, sending=False)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is None:
            self.connect()
        _bind(self, sending=True)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection

    def _put_conn(self, conn: Any) -> None:
        _unbind(conn)
        super()._put_conn(conn)


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection

    def _put_conn(self, conn: Any) -> None:
        _unbind(conn)
        super()._put_conn(conn)


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter, with connections that honour the request's total deadline."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


# --- the client ------------------------------------------------------------------------


class _BearerAuth(requests.auth.AuthBase):
    """Sets the bearer token; as the session's auth it also keeps ~/.netrc from overriding."""

    def __init__(self, client: DialogClient) -> None:
        self._client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._client._token:
            request.headers["Authorization"] = f"Bearer {self._client._token}"
        return request


class AnswerBody:
    """The body of a 2xx answer as a binary stream: decoded, size-capped, under the deadline.

    `read` raises an `ApiError` (ambiguous when the answer broke off) rather than an HTTP
    library's exception, so a reader such as a JSON parser needs no knowledge of HTTP.
    """

    def __init__(
        self,
        response: requests.Response,
        deadline: _Deadline,
        failure: Callable[[BaseException | None, _Deadline], ApiError],
        *,
        limit: int | None = None,
        too_large: Callable[[int], ApiError] | None = None,
    ) -> None:
        """`limit` (decoded bytes) raises `too_large(limit)` once passed; None: the reader
        bounds what it reads itself."""
        self._raw = response.raw
        self._deadline = deadline
        self._failure = failure
        self._limit = limit
        self._too_large = too_large
        self._size = 0

    def read(self, size: int = _CHUNK) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        try:
            data: bytes = self._raw.read(size, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failure(exc, self._deadline) from None
        if self._deadline.expired:
            raise self._failure(None, self._deadline)
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            assert self._too_large is not None  # given with every limit
            raise self._too_large(self._limit)
        return data

    def read_all(self) -> bytes:
        chunks = []
        while chunk := self.read():
            chunks.append(chunk)
        return b"".join(chunks)


class DialogClient:
    """One keep-alive session to the Dialog API at `base_url` (e.g. https://host/api).

    With `credentials` (login, password) the client logs in again once when a call is
    answered 401 (the token expired) and repeats that call: a 401 proves it did nothing.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        timeout: float = 30.0,
        retry_503: bool = False,
        credentials: tuple[str, str] | None = None,
        login_format: LoginFormat | None = None,
        max_report_bytes: int = MAX_REPORT_BYTES,
    ) -> None:
        check_url(base_url)
        self.base_url = base_url.rstrip("/")
        # Messages name the server without the URL's userinfo, a credential.
        self.shown_url = _without_userinfo(self.base_url)
        _register_userinfo(base_url)
        self.timeout = timeout
        self.retry_503 = retry_503
        self.max_report_bytes = max_report_bytes
        self._token = token
        secrets.add(token)
        self._credentials = credentials
        if credentials is not None:
            secrets.add(credentials[1])
        self._login_format = login_format
        self._login_lock = threading.Lock()
        self._session = requests.Session()
        # No retries at any level: a POST resent after a dropped connection may create a
        # second campaign, and redirects are not followed for the same reason.
        # A pool as large as any sensible --parallelism, so parallel creates reuse
        # connections instead of urllib3 discarding them with a warning.
        adapter = _Adapter(
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
                login_format=config.login_format,
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
        login_format: LoginFormat | None = None,
    ) -> DialogClient:
        """A client whose token comes from `POST {base_url}/login`.

        The OAuth2 password form (`username`, `password`) is sent first; a server that
        answers it 415 or 422 gets the JSON body (`login`, `password`). `login_format`
        pins one of the two.
        """
        secrets.add(password)
        client = cls(
            base_url,
            token="",
            timeout=timeout,
            retry_503=retry_503,
            credentials=(login, password),
            login_format=login_format,
        )
        try:
            client._token = client._log_in()
        except BaseException:
            client.close()
            raise
        return client

    def create_campaign(self, body: Mapping[str, Any]) -> int:
        """Create one campaign and return its ID. One attempt; never retried.

        (A 401 with a login and password is the exception: it proves nothing was created,
        so the client logs in again and sends the create once more.)
        """
        phones = body.get("phones")
        log.debug(
            "creating campaign %r with %d phones",
            (body.get("campaign") or {}).get("name"),
            len(phones) if isinstance(phones, list) else 0,
        )
        data = self._authorized(
            lambda: self._post_for_json(
                "/campaigns", action="creating the campaign", unknown=_OUTCOME_UNKNOWN, json=body
            )
        )
        campaign = data.get("campaign") if isinstance(data, dict) else None
        campaign_id = campaign.get("id") if isinstance(campaign, dict) else None
        if not is_campaign_id(campaign_id):
            raise ApiAmbiguous(
                "creating the campaign: HTTP 200 without a campaign.id that is a positive "
                f"integer{_OUTCOME_UNKNOWN}: the answer was "
                f"{redact(json.dumps(data, ensure_ascii=False))}",
                status=200,
            )
        assert isinstance(campaign_id, int)  # is_campaign_id checked it
        log.debug("created campaign %d", campaign_id)
        return campaign_id

    @contextlib.contextmanager
    def open_report(self, project_id: int, body: Mapping[str, Any]) -> Iterator[AnswerBody]:
        """The answer of `POST /analytics/{project_id}/report`, to read as it arrives.

        A report only reads, so a failure is just a failure; the caller checks the shape.
        Reading more than `max_report_bytes` (decoded) raises an `ApiError`.
        """

        def too_large(limit: int) -> ApiError:
            return ApiError(
                f"fetching the report: the answer is larger than {limit:,} bytes; "
                "refused (narrow the period or the filters)",
                status=200,
            )

        with contextlib.ExitStack() as stack:
            answer = self._authorized(
                lambda: stack.enter_context(
                    self._exchange(
                        f"/analytics/{project_id}/report",
                        action="fetching the report",
                        unknown="",
                        json=body,
                        limit=self.max_report_bytes,
                        too_large=too_large,
                    )
                )
            )
            yield answer

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

    def _authorized(self, call: Callable[[], _T]) -> _T:
        """`call()`, and with a login once more after a fresh login if it is answered 401."""
        used = self._token
        try:
            return call()
        except ApiUnauthorized as exc:
            if self._credentials is None or exc.status != 401:
                raise
            log.debug("HTTP 401 with a login: logging in again, then sending the call once more")
        with self._login_lock:
            if self._token == used:  # not yet renewed by another thread
                self._token = self._log_in()
        return call()

    def _log_in(self) -> str:
        """A new token from `POST /login`: the form first, JSON if the form is refused."""
        assert self._credentials is not None  # only clients built by `login` log in
        login, password = self._credentials
        formats: tuple[LoginFormat, ...] = (
            (self._login_format,) if self._login_format else ("form", "json")
        )
        data: Any = None
        for chosen in formats:
            try:
                if chosen == "form":
                    data = self._post_for_json(
                        "/login",
                        action="logging in",
                        unknown="",
                        form={"username": login, "password": password},
                    )
                else:
                    data = self._post_for_json(
                        "/login",
                        action="logging in",
                        unknown="",
                        json={"login": login, "password": password},
                    )
                break
            except ApiRejected as exc:
                if chosen == formats[-1] or exc.status not in _FORM_REFUSED:
                    raise
                log.debug("the login form was answered %s: sending the JSON login", exc.status)
        token = _find_token(data)
        if token is None:
            raise ApiError(
                "logging in: the answer holds no token (looked for access_token, token, "
                "data.access_token and data.token)",
                status=200,
            )
        secrets.add(token)
        if not _usable_token(token):
            raise ApiError(
                "logging in: the token in the answer cannot be a bearer token "
                "(spaces, control or non-ASCII characters)",
                status=200,
            )
        return token

    def _post_for_json(self, path: str, *, action: str, unknown: str, **send: Any) -> Any:
        """POST once and return the decoded JSON of a 2xx answer of at most a few KiB."""

        def too_large(limit: int) -> ApiError:
            return ApiAmbiguous(
                f"{action}: HTTP 200 with an answer larger than {limit:,} bytes{unknown}",
                status=200,
            )

        with self._exchange(
            path,
            action=action,
            unknown=unknown,
            limit=MAX_ANSWER_BYTES,
            too_large=too_large,
            **send,
        ) as answer:
            raw = answer.read_all()
        try:
            return json.loads(raw)
        except ValueError:
            text = raw.decode("utf-8", errors="replace")
            raise ApiAmbiguous(
                f"{action}: HTTP 200 with a body that is not JSON{unknown}",
                status=200,
                server_message=_server_message(text, ""),
            ) from None

    @contextlib.contextmanager
    def _exchange(
        self,
        path: str,
        *,
        action: str,
        unknown: str,
        limit: int,
        too_large: Callable[[int], ApiError],
        **send: Any,
    ) -> Iterator[AnswerBody]:
        """POST once (`send`: `json=` or `form=`) within the total deadline; yield the 2xx body.

        `unknown` is appended to errors that leave the outcome open (for creates).
        """
        url = self.base_url + path
        started = time.monotonic()

        def failure(exc: BaseException | None, deadline: _Deadline) -> ApiError:
            return self._failure(exc, deadline, action, unknown)

        with _Deadline(self.timeout) as deadline:
            try:
                response = self._session.post(
                    url,
                    json=send.get("json"),
                    data=send.get("form"),
                    stream=True,
                    allow_redirects=False,
                    timeout=(min(self.timeout, _MAX_CONNECT_TIMEOUT), self.timeout),
                )
            except requests.RequestException as exc:
                raise failure(exc, deadline) from None
            with contextlib.closing(response):
                log.debug(
                    "POST %s -> %d in %.3fs",
                    self.shown_url + path,
                    response.status_code,
                    time.monotonic() - started,
                )
                if not 200 <= response.status_code < 300:
                    error = self._refusal(response, deadline, action, unknown, failure)
                    log.debug("%s", error)
                    raise error
                yield AnswerBody(response, deadline, failure, limit=limit, too_large=too_large)

    def _refusal(
        self,
        response: requests.Response,
        deadline: _Deadline,
        action: str,
        unknown: str,
        failure: Callable[[BaseException | None, _Deadline], ApiError],
    ) -> ApiError:
        """The error for a non-2xx answer, with the first KiBs of what the server said."""
        body = AnswerBody(response, deadline, failure)
        raw = b""
        with contextlib.suppress(ApiError):  # a message cut short still says something
            while len(raw) < MAX_ERROR_BYTES and (chunk := body.read()):
                raw += chunk
        said = _server_message(
            raw[:MAX_ERROR_BYTES].decode("utf-8", errors="replace"), response.reason or ""
        )
        return _error_for(
            response.status_code,
            said,
            response.headers.get("Retry-After"),
            action,
            unknown,
            retry_503=self.retry_503,
        )

    def _failure(
        self, exc: BaseException | None, deadline: _Deadline, action: str, unknown: str
    ) -> ApiError:
        """What a request that got no whole answer proves: nothing sent, or an open outcome."""
        if not deadline.sent:
            reason = "no connection within the time limit" if exc is None else _reason(exc)
            return ApiRejected(
                f"{action}: cannot connect to {self.shown_url} (nothing was sent): {reason}"
            )
        if deadline.expired or isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
            return ApiAmbiguous(
                f"{action}: no answer from {self.shown_url} within {self.timeout:g}s{unknown}"
            )
        assert exc is not None  # without an exception only the deadline ends a read
        return ApiAmbiguous(
            f"{action}: the connection to {self.shown_url} broke before an answer"
            f"{unknown}: {_reason(exc)}"
        )


def check_url(url: str) -> None:
    """Refuse, before anything is sent or written, a base URL no request could go to.

    `http(s)://host[:port][/path]` with a host name, an IPv4 or a bracketed IPv6 address;
    no spaces, control characters or percent escapes in the host.
    """
    if not _valid_url(url):
        raise UsageError(f"the Dialog API URL {url!r} is not an http(s) URL")


def _valid_url(url: str) -> bool:
    if len(url) > _MAX_URL or any(char.isspace() or not char.isprintable() for char in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. an unclosed IPv6 bracket or a port that is not a number
        return False
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host or port == 0:
        return False
    if host.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return False
        return True
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:  # a label too long, empty, or not a name at all
        return False
    return len(ascii_host) <= _MAX_HOST and all(
        _LABEL.fullmatch(label) for label in ascii_host.rstrip(".").split(".")
    )


def _without_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def _register_userinfo(url: str) -> None:
    """The password of `user:password@` is a secret wherever it shows up."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        secrets.add(parts.password)
        secrets.add(urllib.parse.unquote(parts.password))


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
    """Whether `value` can be a campaign ID: an integer from 1 to MAX_ID (a signed 64-bit
    integer, what any platform database column can hold); nothing else is an ID the API
    could give."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _usable_token(token: str) -> bool:
    """Whether `token` can be sent in a header; anything else fails only once sending began."""
    return token.isascii() and token.isprintable() and not any(c.isspace() for c in token)


def _find_token(data: Any) -> str | None:
    for holder in (data, data.get("data") if isinstance(data, dict) else None):
        if isinstance(holder, dict):
            for key in ("access_token", "token"):
                if isinstance(holder.get(key), str) and holder[key]:
                    return str(holder[key])
    return None
