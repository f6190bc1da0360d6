"""The apply executor against the in-process sandbox over real HTTP: every outcome's state."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from dialogops.apply import ApplyResult, Executor, Outcome, RetryPolicy
from dialogops.client.api import DialogClient
from dialogops.commands.apply import refuse_blockers
from dialogops.config import load_config
from dialogops.errors import StateError
from dialogops.manifests import load_project
from dialogops.planner import Plan, build_plan
from dialogops.sandbox import SANDBOX_TOKEN, SandboxServer
from dialogops.state import LocalBackend, StateLock
from tests.conftest import wait_for
from tests.samples import expected_body, manifest, phone, read_state, write_project

# No test here is about timeouts: the bound only keeps a broken run from hanging. A tighter
# one (it was 2 s) turned a create slowed by a busy CI machine into `unknown`.
CLIENT_TIMEOUT = 30


class Harness:
    """A project, its state lock and a client to the sandbox: runs plan + executor."""

    def __init__(self, root: Path, sandbox: SandboxServer) -> None:
        self.root = root
        self.sandbox = sandbox
        self.backend = LocalBackend(root / "dialogops.state.json")

    def plan(self, lock: StateLock, **options: Any) -> Plan:
        config = load_config(None, self.root)
        project = load_project([], config)
        return build_plan(project, lock.read(), **options)

    def apply(
        self,
        *,
        parallelism: int = 4,
        retry: RetryPolicy | None = None,
        halt_first: str = "",
        meanwhile: Callable[[Executor], None] | None = None,
        retry_503: bool = False,
        **options: Any,
    ) -> tuple[ApplyResult, list[Outcome]]:
        """Plan and execute; `meanwhile(executor)` runs on a thread of its own during the run."""
        seen: list[Outcome] = []
        with (
            self.backend.lock("test apply") as lock,
            DialogClient(
                self.sandbox.url, token=SANDBOX_TOKEN, timeout=CLIENT_TIMEOUT, retry_503=retry_503
            ) as client,
        ):
            plan = self.plan(lock, keep_bodies=True, **options)
            with contextlib.closing(plan):
                refuse_blockers(plan)
                executor = Executor(
                    lock,
                    client,
                    parallelism=parallelism,
                    retry=retry or RetryPolicy(max_wait=1.0),
                    on_outcome=seen.append,
                )
                if halt_first:
                    executor.halt(halt_first)
                if meanwhile is not None:
                    threading.Thread(target=meanwhile, args=(executor,), daemon=True).start()
                return ApplyResult(executor.run(plan.creates)), seen


@pytest.fixture
def harness(tmp_path: Path, sandbox: SandboxServer) -> Harness:
    return Harness(write_project(tmp_path / "project", ["alpha", "beta", "gamma"]), sandbox)


def test_creates_each_campaign_once_and_records_the_returned_ids(harness: Harness) -> None:
    summary, seen = harness.apply()

    stored = {c.name: c for c in harness.sandbox.campaigns()}
    assert summary.exit_code == 0
    assert sorted(o.name for o in seen) == ["alpha", "beta", "gamma"]
    assert stored["beta"].body == expected_body("beta", [phone(2), phone(3)])
    entries = read_state(harness.root)["campaigns"]
    assert {name: e["id"] for name, e in entries.items()} == {n: c.id for n, c in stored.items()}
    assert {e["status"] for e in entries.values()} == {"created"}
    assert all(e["phones"] == 2 and e["created_at"].startswith("20") for e in entries.values())


def test_a_second_apply_sends_nothing(harness: Harness) -> None:
    harness.apply()
    before = len(harness.sandbox.requests)

    summary, seen = harness.apply()

    assert (summary.outcomes, seen) == ((), [])
    assert len(harness.sandbox.requests) == before
    with harness.backend.lock("check") as lock:
        assert {a.status for a in harness.plan(lock).actions} == {"unchanged"}


def test_a_rejected_create_removes_its_pending_entry_and_shows_the_server_message(
    harness: Harness,
) -> None:
    harness.sandbox.faults.update(status=422, status_count=1)

    summary, _ = harness.apply(parallelism=1)

    failed = summary.having("failed")
    assert [o.name for o in failed] == ["alpha"]
    assert "HTTP 422" in failed[0].message and "injected 422" in failed[0].message
    assert set(read_state(harness.root)["campaigns"]) == {"beta", "gamma"}
    assert harness.sandbox.creates_by_name() == {"beta": 1, "gamma": 1}
    assert summary.exit_code == 1


def test_unauthorized_stops_every_further_create(harness: Harness) -> None:
    harness.sandbox.faults.update(status=401, status_count=1)

    summary, _ = harness.apply(parallelism=1)

    assert [(o.name, o.result) for o in summary.outcomes] == [
        ("alpha", "failed"),
        ("beta", "skipped"),
        ("gamma", "skipped"),
    ]
    assert "no further creates" in summary.outcomes[0].message
    assert "refused the credentials" in summary.outcomes[1].message
    assert read_state(harness.root)["campaigns"] == {}
    creates = [r for r in harness.sandbox.requests if r.path == "/api/campaigns"]
    assert len(creates) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_later_is_honoured_and_creates_once(harness: Harness, status: int) -> None:
    harness.sandbox.faults.update(status=status, status_count=2, retry_after=0.1)

    summary, _ = harness.apply(parallelism=1, retry_503=status == 503)

    assert summary.exit_code == 0
    assert harness.sandbox.creates_by_name() == {"alpha": 1, "beta": 1, "gamma": 1}
    creates = [r for r in harness.sandbox.requests if r.path == "/api/campaigns"]
    assert len(creates) == 5  # two refused attempts of alpha, then one each


def test_retry_later_gives_up_after_the_bound_and_nothing_is_left_pending(
    harness: Harness,
) -> None:
    harness.sandbox.faults.update(status=429, status_count=100, retry_after=0)

    summary, _ = harness.apply(parallelism=1, retry=RetryPolicy(max_retries=2, max_wait=0))

    assert {o.result for o in summary.outcomes} == {"failed"}
    assert "gave up after 2 retries (nothing was created)" in summary.outcomes[0].message
    assert read_state(harness.root)["campaigns"] == {}
    assert len([r for r in harness.sandbox.requests if r.path == "/api/campaigns"]) == 9


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "status_count": 1},
        {"drop": "after_store", "drop_count": 1},
        {"drop": "before_store", "drop_count": 1},
        {"malformed_count": 1},
    ],
)
def test_an_ambiguous_outcome_is_unknown_and_never_resent(
    harness: Harness,
    fault: dict[str, Any],
) -> None:
    harness.sandbox.faults.update(**fault)

    summary, _ = harness.apply(parallelism=1)

    unknown = summary.having("unknown")
    assert [o.name for o in unknown] == ["alpha"]
    assert "was NOT resent" in unknown[0].message
    assert "dialogops import alpha ID" in unknown[0].message
    entry = read_state(harness.root)["campaigns"]["alpha"]
    assert entry["status"] == "unknown" and "id" not in entry and entry["started_at"]
    assert harness.sandbox.creates_by_name().get("alpha", 0) <= 1

    with pytest.raises(StateError, match="alpha: unknown; dialogops import alpha ID"):
        harness.apply()
    assert harness.sandbox.creates_by_name().get("alpha", 0) <= 1
    creates = [r for r in harness.sandbox.requests if r.path == "/api/campaigns"]
    assert [r.body["campaign"]["name"] for r in creates].count("alpha") == 1


def test_replace_keeps_the_old_id_in_history(harness: Harness) -> None:
    harness.apply()
    old = read_state(harness.root)["campaigns"]["beta"]
    (harness.root / "campaigns" / "beta.yaml").write_text(
        manifest("beta", [phone(50)]), encoding="utf-8"
    )

    summary, _ = harness.apply(replace=["beta"])

    entry = read_state(harness.root)["campaigns"]["beta"]
    assert summary.exit_code == 0
    assert entry["id"] != old["id"] and entry["phones"] == 1
    assert entry["history"] == [
        {
            "id": old["id"],
            "fingerprint": old["fingerprint"],
            "created_at": old["created_at"],
            "replaced_at": entry["history"][0]["replaced_at"],
        }
    ]
    assert harness.sandbox.creates_by_name()["beta"] == 2


def test_a_rejected_replace_puts_the_old_entry_back(harness: Harness) -> None:
    harness.apply()
    old = read_state(harness.root)["campaigns"]["beta"]
    (harness.root / "campaigns" / "beta.yaml").write_text(
        manifest("beta", [phone(50)]), encoding="utf-8"
    )
    harness.sandbox.faults.update(status=400, status_count=1)

    summary, _ = harness.apply(replace=["beta"])

    assert [o.result for o in summary.outcomes] == ["failed"]
    assert read_state(harness.root)["campaigns"]["beta"] == old


def test_a_changed_campaign_blocks_apply_naming_the_fix(harness: Harness) -> None:
    harness.apply()
    (harness.root / "campaigns" / "beta.yaml").write_text(
        manifest("beta", [phone(50)]), encoding="utf-8"
    )

    with pytest.raises(StateError) as info:
        harness.apply()
    assert str(info.value).endswith(
        "  beta: changed; revert the change, or raise metadata.revision to 2 in "
        f"{harness.root / 'campaigns' / 'beta.yaml'} to create a new campaign"
    )


def test_apply_sends_the_body_the_plan_fingerprinted_even_if_the_file_changes_after(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "project", ["alpha"])
    (root / "campaigns" / "phones.csv").write_text("phone\n+79990000001\n", encoding="utf-8")
    text = (root / "campaigns" / "alpha.yaml").read_text("utf-8")
    before, after = text.split("    inline:\n", 1)
    after = after.split("  add_data:", 1)[1]
    (root / "campaigns" / "alpha.yaml").write_text(
        before + "    csv: {path: phones.csv}\n  add_data:" + after.replace("row.who", "'x'"),
        encoding="utf-8",
    )
    backend = LocalBackend(root / "dialogops.state.json")
    with (
        backend.lock("test") as lock,
        DialogClient(sandbox.url, token=SANDBOX_TOKEN, timeout=CLIENT_TIMEOUT) as client,
    ):
        plan = build_plan(load_project([], load_config(None, root)), lock.read(), keep_bodies=True)
        # Rendered once, by the plan: what the file holds afterwards is never read.
        (root / "campaigns" / "phones.csv").write_text("phone\n+79990000002\n", encoding="utf-8")
        outcomes = Executor(lock, client, parallelism=1).run(plan.creates)
        plan.close()

    assert [(o.name, o.result) for o in outcomes] == [("alpha", "created")]
    [received] = sandbox.requests
    [action] = plan.creates
    assert action.rendered is not None
    assert received.digest == action.rendered.fingerprint
    assert [p["phone"] for p in received.body["phones"]] == ["+79990000001"]
    entry = LocalBackend(root / "dialogops.state.json").read().campaigns["alpha"]
    assert entry.fingerprint == action.rendered.fingerprint


def test_a_halted_executor_starts_nothing(harness: Harness) -> None:
    summary, _ = harness.apply(halt_first="apply was interrupted")

    assert {o.result for o in summary.outcomes} == {"skipped"}
    assert harness.sandbox.requests == []
    assert summary.exit_code == 1


def test_stopping_during_a_retry_wait_abandons_the_retry_and_forgets_the_entry(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    sandbox.faults.update(status=429, status_count=1, retry_after=30)
    backend = LocalBackend(root / "dialogops.state.json")
    with (
        backend.lock("test") as lock,
        DialogClient(sandbox.url, token=SANDBOX_TOKEN, timeout=CLIENT_TIMEOUT) as client,
    ):
        plan = build_plan(load_project([], load_config(None, root)), lock.read(), keep_bodies=True)
        executor = Executor(lock, client, retry=RetryPolicy(max_wait=30))

        def interrupt_once_refused() -> None:
            wait_for(lambda: bool(sandbox.requests), "the refused create")
            executor.halt("apply was interrupted")

        threading.Thread(target=interrupt_once_refused, daemon=True).start()
        with contextlib.closing(plan):
            [outcome] = executor.run(plan.creates)

    assert (outcome.result, outcome.message) == ("skipped", "not retried: apply was interrupted")
    assert backend.read().campaigns == {}
    assert len(sandbox.requests) == 1 and sandbox.campaigns() == []


def test_creates_start_in_plan_order(tmp_path: Path, sandbox: SandboxServer) -> None:
    names = [f"c{i}" for i in range(8)]
    harness = Harness(write_project(tmp_path / "p", names), sandbox)

    harness.apply(parallelism=1)

    assert [r.body["campaign"]["name"] for r in sandbox.requests] == names


def test_workers_keep_at_most_parallelism_creates_in_flight_taken_in_plan_order(
    tmp_path: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f"c{i}" for i in range(7)]
    harness = Harness(write_project(tmp_path / "p", names), sandbox)
    sandbox.faults.update(latency=0.2)
    guard = threading.Lock()
    in_flight: list[str] = []
    most = 0
    send = DialogClient.create_campaign

    def counted(self: DialogClient, body: IO[bytes], size: int) -> int:
        nonlocal most
        name = json.loads(body.read())["campaign"]["name"]
        with guard:
            in_flight.append(name)
            most = max(most, len(in_flight))
        try:
            return send(self, body, size)
        finally:
            with guard:
                in_flight.remove(name)

    monkeypatch.setattr(DialogClient, "create_campaign", counted)

    summary, seen = harness.apply(parallelism=3)

    assert most == 3
    started = [r.body["campaign"]["name"] for r in sandbox.requests]
    assert sorted(started[:3]) == names[:3]  # the fourth waits for a free worker
    assert sorted(started) == names
    assert [(o.name, o.result) for o in summary.outcomes] == [(n, "created") for n in names]
    assert sorted(o.name for o in seen) == names


def test_a_halt_lets_the_creates_in_flight_finish_and_starts_no_other(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    names = [f"c{i}" for i in range(6)]
    harness = Harness(write_project(tmp_path / "p", names), sandbox)
    sandbox.faults.update(latency=0.5)

    def halt_once_three_are_sent(executor: Executor) -> None:
        wait_for(lambda: len(sandbox.requests) == 3, "three creates in flight")
        executor.halt("apply was interrupted")

    summary, _ = harness.apply(parallelism=3, meanwhile=halt_once_three_are_sent)

    assert [(o.name, o.result, o.message) for o in summary.outcomes] == [
        *((n, "created", "") for n in names[:3]),
        *((n, "skipped", "not started: apply was interrupted") for n in names[3:]),
    ]
    assert sandbox.creates_by_name() == {n: 1 for n in names[:3]}
    assert {n: e["status"] for n, e in read_state(harness.root)["campaigns"].items()} == {
        n: "created" for n in names[:3]
    }


def test_ctrl_c_without_a_handler_starts_no_new_create_and_the_sent_one_finishes(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    # `interrupts` is not installed here: the KeyboardInterrupt reaches `run` itself, which
    # must record the create in flight before it lets the interrupt (and the lock) go.
    harness = Harness(write_project(tmp_path / "p", ["alpha", "beta", "gamma"]), sandbox)
    sandbox.faults.update(latency=0.5)

    def press_ctrl_c_once_sent(_executor: Executor) -> None:
        wait_for(lambda: bool(sandbox.requests), "the first create")
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        harness.apply(parallelism=1, meanwhile=press_ctrl_c_once_sent)

    assert [r.body["campaign"]["name"] for r in sandbox.requests] == ["alpha"]
    assert sandbox.creates_by_name() == {"alpha": 1}
    assert {n: e["status"] for n, e in read_state(harness.root)["campaigns"].items()} == {
        "alpha": "created"
    }


def test_an_unexpected_error_is_unknown_and_starts_no_other_create(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("dialogops.apply.utc_now", broken)  # before the pending entry

    summary, seen = harness.apply(parallelism=1)

    assert [(o.name, o.result) for o in summary.outcomes] == [
        ("alpha", "unknown"),
        ("beta", "skipped"),
        ("gamma", "skipped"),
    ]
    assert summary.outcomes[0].message.startswith("unexpected error: RuntimeError('a bug'); ")
    assert summary.outcomes[1].message == "not started: an unexpected error"
    assert seen == list(summary.outcomes)
    assert harness.sandbox.requests == []


def test_an_unexpected_error_while_sending_is_unknown_and_shows_no_secret(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fails(self: DialogClient, body: IO[bytes], size: int) -> int:
        raise ValueError(f"Invalid header value b'Bearer {SANDBOX_TOKEN}'")

    monkeypatch.setattr(DialogClient, "create_campaign", fails)

    summary, _ = harness.apply(parallelism=1, targets=("alpha",))

    [outcome] = summary.outcomes
    assert outcome.result == "unknown"
    assert outcome.message.startswith("Invalid header value b'Bearer ***'; it may or may not")
    assert SANDBOX_TOKEN not in outcome.message
    assert read_state(harness.root)["campaigns"]["alpha"]["status"] == "unknown"
