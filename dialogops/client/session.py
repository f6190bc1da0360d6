"""A session with the Dialog API: login, token renewal and the one-attempt POST.

`Session` holds one keep-alive connection pool, logs in (`POST /login`) when given a login
and password, logs in again once when a call is answered 401, and sends each POST exactly
once within the total deadline (`dialogops.client.transport`), turning what a failure
proves into its type (`dialogops.client.errors`). The API's calls are `DialogClient`'s
(`dialogops.client.api`). Token and password are replaced by `***` in every error message
and log line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import requests
import urllib3.exceptions
from urllib3.util.retry import Retry

from dialogops import __version__
from dialogops.client.errors import (
    ApiAmbiguous,
    ApiRejected,
    ApiUnauthorized,
    error_for,
    server_message,
)
from dialogops.client.transport import (
    MAX_ANSWER_BYTES,
    MAX_ERROR_BYTES,
    MAX_REPORT_BYTES,
    Adapter,
    AnswerBody,
    Deadline,
    innermost_cause,
)
from dialogops.client.urls import check_url, register_userinfo, without_userinfo
from dialogops.errors import ApiError
from dialogops.masking import ScrubFilter, secrets

_T = TypeVar("_T")

LoginFormat = Literal["form", "json"]

_MAX_CONNECT_TIMEOUT = 10.0
_POOL_SIZE = 64
# What a server that does not take the login form answers it with; then JSON is tried.
_FORM_REFUSED = (415, 422)

log = logging.getLogger("dialogops.client")
log.addFilter(ScrubFilter())


class _BearerAuth(requests.auth.AuthBase):
    """Sets the bearer token; as the session's auth it also keeps ~/.netrc from overriding."""

    def __init__(self, client: Session) -> None:
        self._client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._client._token:
            request.headers["Authorization"] = f"Bearer {self._client._token}"
        return request


class Session:
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
        self.shown_url = without_userinfo(self.base_url)
        register_userinfo(base_url)
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
        adapter = Adapter(
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
    def login(
        cls,
        base_url: str,
        *,
        login: str,
        password: str,
        timeout: float = 30.0,
        retry_503: bool = False,
        login_format: LoginFormat | None = None,
    ) -> Self:
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

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
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
        if not usable_token(token):
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
                server_message=server_message(text, ""),
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
        """POST once (`send`: `json=`, `form=` or a JSON `upload=`) within the total deadline;
        yield the 2xx body.

        `unknown` is appended to errors that leave the outcome open (for creates).
        """
        url = self.base_url + path
        started = time.monotonic()

        def failure(exc: BaseException | None, deadline: Deadline) -> ApiError:
            return self._failure(exc, deadline, action, unknown)

        with Deadline(self.timeout) as deadline:
            try:
                response = self._session.post(
                    url,
                    json=send.get("json"),
                    data=send.get("form", send.get("upload")),
                    headers={"Content-Type": "application/json"} if "upload" in send else None,
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
        deadline: Deadline,
        action: str,
        unknown: str,
        failure: Callable[[BaseException | None, Deadline], ApiError],
    ) -> ApiError:
        """The error for a non-2xx answer, with the first KiBs of what the server said."""
        body = AnswerBody(response, deadline, failure)
        raw = b""
        with contextlib.suppress(ApiError):  # a message cut short still says something
            while len(raw) < MAX_ERROR_BYTES and (chunk := body.read()):
                raw += chunk
        said = server_message(
            raw[:MAX_ERROR_BYTES].decode("utf-8", errors="replace"), response.reason or ""
        )
        return error_for(
            response.status_code,
            said,
            response.headers.get("Retry-After"),
            action,
            unknown,
            retry_503=self.retry_503,
        )

    def _failure(
        self, exc: BaseException | None, deadline: Deadline, action: str, unknown: str
    ) -> ApiError:
        """What a request that got no whole answer proves: nothing sent, or an open outcome."""
        if not deadline.sent:
            reason = "no connection within the time limit" if exc is None else innermost_cause(exc)
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
            f"{unknown}: {innermost_cause(exc)}"
        )


def usable_token(token: str) -> bool:
    """Whether `token` can be sent in a header; anything else fails only once sending began."""
    return token.isascii() and token.isprintable() and not any(c.isspace() for c in token)


def _find_token(data: Any) -> str | None:
    for holder in (data, data.get("data") if isinstance(data, dict) else None):
        if isinstance(holder, dict):
            for key in ("access_token", "token"):
                if isinstance(holder.get(key), str) and holder[key]:
                    return str(holder[key])
    return None
