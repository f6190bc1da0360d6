"""The Dialog API's calls: create a campaign, stream a report; a client from the environment.

Each call is one attempt: nothing here retries, because a create is not idempotent. What a
failure proves decides its type (`dialogops.client.errors`), so `apply` knows whether a
campaign might exist. Every request has a total deadline (`timeout`) and every answer a
decoded size cap; a report is streamed (`open_report`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from typing import IO, Any

from dialogops.client.errors import OUTCOME_UNKNOWN, ApiAmbiguous
from dialogops.client.session import Session, log, usable_token
from dialogops.client.transport import AnswerBody, Upload
from dialogops.errors import ApiError, UsageError
from dialogops.masking import redact, secrets
from dialogops.specs import MAX_ID, Config


class DialogClient(Session):
    """The Dialog API at `base_url` (e.g. https://host/api), over one `Session`."""

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
            if not usable_token(token):
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

    def create_campaign(self, body: IO[bytes], size: int) -> int:
        """Create one campaign from its JSON body (`size` bytes, streamed from the start of
        `body`) and return its ID. One attempt; never retried.

        (A 401 with a login and password is the exception: it proves nothing was created,
        so the client logs in again and sends the create once more.)
        """
        log.debug("creating a campaign: %d bytes", size)

        def send() -> Any:
            body.seek(0)
            return self._post_for_json(
                "/campaigns",
                action="creating the campaign",
                unknown=OUTCOME_UNKNOWN,
                upload=Upload(body, size),
            )

        data = self._authorized(send)
        campaign = data.get("campaign") if isinstance(data, dict) else None
        campaign_id = campaign.get("id") if isinstance(campaign, dict) else None
        if not is_campaign_id(campaign_id):
            raise ApiAmbiguous(
                "creating the campaign: HTTP 200 without a campaign.id that is a positive "
                f"integer{OUTCOME_UNKNOWN}: the answer was "
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


def is_campaign_id(value: object) -> bool:
    """Whether `value` can be a campaign ID: an integer from 1 to MAX_ID (a signed 64-bit
    integer, what any platform database column can hold); nothing else is an ID the API
    could give."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
