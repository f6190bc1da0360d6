"""Executing a Plan: per create, write `pending`, POST once, then `created`, removed or `unknown`.

A create whose outcome is not proven either way is left `unknown` and never resent: a campaign
created twice means customers called twice. The executor reports each `Outcome` through a
callback; showing them is the view's job (`dialogops.views.apply`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

from dialogops.client.api import DialogClient
from dialogops.client.errors import ApiRejected, ApiRetryLater, ApiUnauthorized
from dialogops.hints import PLAIN, Hints
from dialogops.ledger.recorder import Recorder
from dialogops.ledger.records import LedgerCampaign
from dialogops.masking import redact
from dialogops.planner import Action
from dialogops.render import RequestBody
from dialogops.state import State, StateEntry, StateLock, superseded, utc_now

Result = Literal["created", "failed", "unknown", "skipped"]

# Longer Retry-After values are cut to this, so one create cannot hold a run for hours.
MAX_RETRY_WAIT = 60.0
MAX_RETRIES = 5


@dataclass(frozen=True)
class Outcome:
    """What happened to one campaign in this run."""

    name: str
    result: Result
    campaign_id: int | None = None
    message: str = ""


@dataclass(frozen=True)
class ApplyResult:
    """Every outcome of one apply run, in plan order."""

    outcomes: tuple[Outcome, ...]
    interrupted: bool = False

    def having(self, result: Result) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.result == result)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 0 if all(o.result == "created" for o in self.outcomes) else 1


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to honour `429`/`503` with Retry-After before giving up."""

    max_retries: int = MAX_RETRIES
    max_wait: float = MAX_RETRY_WAIT


class Executor:
    """Runs the creates of a plan: `parallelism` workers take them from one queue in plan order.

    Each worker writes one create `pending`, POSTs the body the plan rendered and
    fingerprinted (it is never rendered again) and records its outcome; the lock session
    serialises the state writes, one durable write per change (grouping them, 66 writes
    instead of 100, measured no faster on benchmarks/apply_latency.py: a 1.37 s create phase
    either way, median of 15 runs, ideal 1 s). `stop` is set by a `401`, Ctrl-C or an
    unexpected error: creates already sent finish, nothing new starts.
    """

    def __init__(
        self,
        lock: StateLock,
        client: DialogClient,
        *,
        parallelism: int = 4,
        retry: RetryPolicy = RetryPolicy(),
        on_outcome: Callable[[Outcome], None] = lambda _outcome: None,
        hints: Hints = PLAIN,
        ledger: Recorder | None = None,
    ) -> None:
        self._lock = lock
        self._ledger = ledger
        self._hints = hints
        self._client = client
        self._parallelism = max(1, parallelism)
        self._retry = retry
        self._on_outcome = on_outcome
        self._stop_guard = threading.Lock()
        self.stop = threading.Event()
        self._stop_reason = ""

    def halt(self, reason: str) -> None:
        """Start no further creates; those already sent finish."""
        with self._stop_guard:
            if not self._stop_reason:
                self._stop_reason = reason
        self.stop.set()

    def run(self, actions: Sequence[Action]) -> tuple[Outcome, ...]:
        """Create every action's campaign at most once; return the outcomes in plan order."""
        # The pool's threads take the submitted creates from its one queue, first in first out.
        with ThreadPoolExecutor(self._parallelism, thread_name_prefix="dialogops-apply") as pool:
            futures = [pool.submit(self._create_reported, action) for action in actions]
            try:
                waiting = set(futures)
                while waiting:
                    # A timeout keeps the main thread running Python code now and then, so a
                    # Ctrl-C the kernel hands to a worker thread is still handled.
                    _done, waiting = wait(waiting, timeout=0.2)
            except BaseException:
                # Ctrl-C without `interrupts` installed: start nothing new; leaving the pool
                # waits for the creates already sent, while the caller still holds the lock.
                self.halt("apply was interrupted")
                raise
        return tuple(future.result() for future in futures)

    def _create_reported(self, action: Action) -> Outcome:
        try:
            outcome = self._create(action)
        except Exception as exc:  # a bug must not hide what happened to the others
            self.halt("an unexpected error")
            outcome = Outcome(
                action.name,
                "unknown",
                message=(f"unexpected error: {redact(repr(exc))}; " + self._resolve_hint(action)),
            )
        self._on_outcome(outcome)
        return outcome

    def _create(self, action: Action) -> Outcome:
        name = action.name
        rendered = action.rendered
        if action.campaign is None or rendered is None or rendered.body is None:
            raise ValueError(f"{name}: a {action.status} action has no body to send")
        if self.stop.is_set():
            return Outcome(name, "skipped", message=f"not started: {self._stop_reason}")
        pending = self._pending_entry(action, rendered.fingerprint, rendered.stats.phones)
        recorded = None
        try:
            # The ledger first: with a store of its own (SQLite) a crash before the pending
            # entry leaves entries the next apply drops (`Ledger.reconcile`), never a call it
            # did not record; a store in the state's database writes both in one transaction.
            with self._together():
                if self._ledger is not None:
                    recorded = self._ledger.sending(
                        action.campaign, pending.fingerprint, action.ledger
                    )
                self._lock.update(lambda state: state.put(pending))
        except Exception as exc:
            self.halt("the state could not be written")
            if recorded is not None and self._ledger is not None:
                with contextlib.suppress(Exception):
                    self._ledger.refused(recorded)
            return Outcome(
                name, "failed", message=f"state could not be written, nothing sent: {exc}"
            )
        sent = self._send(action, rendered.body, pending, recorded)
        if isinstance(sent, Outcome):
            return sent
        return self._record_created(action, pending, sent, recorded)

    def _pending_entry(self, action: Action, fp: str, phones: int) -> StateEntry:
        old = action.entry
        history = () if old is None else old.history
        if action.status == "replace" and old is not None:
            # Recorded before the POST so a crash cannot lose the old campaign's ID.
            history = superseded(old, utc_now())
        return StateEntry(
            name=action.name,
            status="pending",
            fingerprint=fp,
            phones=phones,
            started_at=utc_now(),
            history=history,
            sent=action.sent,
        )

    def _send(
        self,
        action: Action,
        body: RequestBody,
        pending: StateEntry,
        recorded: LedgerCampaign | None,
    ) -> int | Outcome:
        """POST once (again only after a proven refusal); the new ID, or the final outcome."""
        retries = 0
        while True:
            try:
                campaign_id = self._client.create_campaign(body.file, body.size)
            except ApiUnauthorized as exc:
                self.halt("the API refused the credentials")
                return self._forget(action, f"{exc}; no further creates were started", recorded)
            except ApiRejected as exc:
                return self._forget(action, str(exc), recorded)
            except ApiRetryLater as exc:
                retries += 1
                if retries > self._retry.max_retries:
                    return self._forget(
                        action,
                        f"{exc}; gave up after {self._retry.max_retries} "
                        "retries (nothing was created)",
                        recorded,
                    )
                if self.stop.wait(min(max(exc.retry_after, 0.0), self._retry.max_wait)):
                    reason = f"not retried: {self._stop_reason}"
                    return self._forget(action, reason, recorded, "skipped")
                continue
            except Exception as exc:  # ambiguous: it may have been created, so never resend
                return self._unknown(action, pending, redact(str(exc)))
            return campaign_id

    def _record_created(
        self,
        action: Action,
        pending: StateEntry,
        campaign_id: int,
        recorded: LedgerCampaign | None,
    ) -> Outcome:
        name = pending.name
        created = pending.as_created(campaign_id, utc_now())
        owners: list[str] = []

        def record(state: State) -> State:
            # Checked inside the serialised write, so two creates answered with one ID at
            # the same moment cannot both be recorded as created.
            owner = state.owner_of(campaign_id, besides=name)
            if owner is None:
                return state.put(created)
            owners.append(owner)
            return state.put(pending.as_unknown())

        try:
            with self._together():
                self._lock.update(record)
                if recorded is not None and self._ledger is not None and not owners:
                    self._ledger.created(recorded, campaign_id)
        except Exception as exc:
            self.halt("the state could not be written")
            return Outcome(
                name,
                "unknown",
                campaign_id,
                (
                    f"created with ID {campaign_id}, but the state could not be written ({exc}); "
                    f"run `{self._hints.command(f'import {name} {campaign_id}')}`"
                ),
            )
        if owners:
            return Outcome(
                action.name,
                "unknown",
                message=(
                    f"the server answered with ID {campaign_id}, which state already records for "
                    f"campaign {owners[0]!r}; it may or may not have been created and was NOT "
                    "resent. " + self._resolve_hint(action)
                ),
            )
        return Outcome(name, "created", campaign_id)

    def _forget(
        self,
        action: Action,
        message: str,
        recorded: LedgerCampaign | None,
        result: Result = "failed",
    ) -> Outcome:
        """Nothing was created: drop the pending entry, or put back the one being replaced,
        then its ledger entries."""
        old = action.entry if action.status == "replace" else None
        try:
            with self._together():
                if old is not None:
                    self._lock.update(lambda state: state.put(old))
                else:
                    self._lock.update(lambda state: state.remove(action.name))
                if recorded is not None and self._ledger is not None:
                    self._ledger.refused(recorded)
        except Exception as exc:
            self.halt("the state could not be written")
            message = (
                f"{message}; the pending entry could not be removed ({exc}): "
                f"nothing was created, run `{self._hints.command(f'state rm {action.name}')}`"
            )
        return Outcome(action.name, result, message=message)

    def _together(self) -> AbstractContextManager[object]:
        """A state write and its ledger write, in one transaction where the store can."""
        return contextlib.nullcontext() if self._ledger is None else self._ledger.together()

    def _resolve_hint(self, action: Action) -> str:
        title = action.campaign.title if action.campaign else None
        where = f"a campaign named {title!r}" if title else "the campaign"
        name = action.name
        return (
            f"Look for {where} in the Dialog UI, then run "
            f"`{self._hints.command(f'import {name} ID')}` if it exists or "
            f"`{self._hints.command(f'state rm {name}')}` if it does not."
        )

    def _unknown(self, action: Action, pending: StateEntry, reason: str) -> Outcome:
        # If this write fails the entry stays `pending`, which plan shows as unknown too.
        with contextlib.suppress(Exception):
            self._lock.update(lambda state: state.put(pending.as_unknown()))
        return Outcome(
            action.name,
            "unknown",
            message=(
                f"{reason}; it may or may not have been created and was NOT resent. "
                + self._resolve_hint(action)
            ),
        )
