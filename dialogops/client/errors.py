"""What a failed call proves, as a type: the errors of `dialogops.client`.

ApiError                (dialogops.errors)
├── ApiRejected         the answer proves nothing was created (4xx, refused connection)
│   └── ApiUnauthorized 401/403: the credentials are wrong; stop everything
├── ApiRetryLater       429 (503 only if `api.retry_503` opts in): try again later
└── ApiAmbiguous        the outcome is unknown (timeout, dropped connection, 5xx, ...)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json

from dialogops.errors import ApiError
from dialogops.masking import redact

DEFAULT_RETRY_AFTER = 1.0  # seconds, for a 429 that does not say how long to wait
# Appended to the errors that leave a create's outcome open.
OUTCOME_UNKNOWN = " (the outcome is unknown)"


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


def server_message(text: str, reason: str) -> str:
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


def error_for(
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
