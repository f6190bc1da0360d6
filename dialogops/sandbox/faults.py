"""Fault injection for the sandbox: what the next requests should suffer.

`Faults` is plain data a test or `sandbox serve` sets; the server asks it, under its lock,
which fault the request in hand gets, so counted faults are used exactly once each.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

DropPoint = Literal["before_store", "after_store"]


@dataclass(frozen=True)
class CreateFault:
    """The faults one create request gets, decided atomically when it arrives."""

    status: int | None = None  # answer with this status (after storing, see below)
    retry_after: float | None = None  # Retry-After to send with `status`
    store_first: bool = False  # store the campaign, then answer with `status`
    drop: DropPoint | None = None  # close the connection without answering
    malformed: bool = False  # store, then answer 200 without campaign.id
    answer_id: Any = None  # store, then answer 200 with this as campaign.id
    delay_after_store: float = 0.0  # store, then wait this long before answering
    gzip_bomb: bool = False  # store, then answer 200 with a gzip body inflating to 1 GiB


@dataclass
class Faults:
    """Faults to inject; counted faults apply to the next N creates, then stop."""

    latency: float = 0.0  # seconds before handling each create
    status: int | None = None  # answer the next `status_count` creates with this status
    status_count: int = 0
    retry_after: float | None = None  # with status 429/503: send Retry-After
    status_after_store: bool = False  # store the campaign first, then answer with `status`
    timeout_after_store: float = 0.0  # store, then wait this long before answering
    drop: DropPoint | None = None  # close the connection without answering
    drop_count: int = 0
    malformed_count: int = 0  # store, then answer 200 with a body lacking campaign.id
    answer_id: Any = None  # with answer_id_count: store, then answer this as campaign.id
    answer_id_count: int = 0
    report_status: int | None = None  # answer every report request with this status
    gzip_bomb_count: int = 0  # store the next N creates, then answer each with a gzip bomb
    trickle_bytes_per_second: int = 0  # send create and report answers this slowly (0: at once)
    login_form_status: int | None = None  # answer the login form (not JSON) with this status
    token_lifetime: int | None = None  # each token serves N authorised requests, then 401
    report_rows: int | None = None  # answer every report with N synthetic rows (benchmarks)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, **changes: Any) -> None:
        """Change several settings at once, without a request seeing half of them."""
        with self._lock:
            for name, value in changes.items():
                if name.startswith("_") or not hasattr(self, name):
                    raise AttributeError(f"Faults has no setting {name!r}")
                setattr(self, name, value)

    def take_create_fault(self) -> CreateFault:
        """The fault for the create in hand, using up one of each counted fault it gets."""
        with self._lock:
            if self.status is not None and self.status_count > 0:
                self.status_count -= 1
                retry = self.retry_after if self.status in (429, 503) else None
                return CreateFault(
                    status=self.status, retry_after=retry, store_first=self.status_after_store
                )
            drop: DropPoint | None = None
            if self.drop is not None and self.drop_count > 0:
                self.drop_count -= 1
                drop = self.drop
            malformed = False
            if drop is None and self.malformed_count > 0:
                self.malformed_count -= 1
                malformed = True
            answer_id = None
            if drop is None and not malformed and self.answer_id_count > 0:
                self.answer_id_count -= 1
                answer_id = self.answer_id
            bomb = False
            if drop is None and not malformed and answer_id is None and self.gzip_bomb_count > 0:
                self.gzip_bomb_count -= 1
                bomb = True
            return CreateFault(
                drop=drop,
                malformed=malformed,
                answer_id=answer_id,
                delay_after_store=self.timeout_after_store,
                gzip_bomb=bomb,
            )
