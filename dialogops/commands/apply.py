"""`dialogops apply`: plan under the state lock, ask, then create each campaign exactly once.

Ctrl-C and SIGTERM are handled here: the first lets the creates already sent finish and
saves state, the second exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from dialogops.apply import ApplyResult, Executor
from dialogops.client.api import DialogClient
from dialogops.client.urls import check_url
from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import ledger_store, no_state, open_client, state_backend
from dialogops.errors import StateError, UsageError
from dialogops.hints import PLAIN, Hints
from dialogops.ledger.judge import needed_by
from dialogops.ledger.keys import optional_key, require_key
from dialogops.ledger.recorder import Recorder
from dialogops.manifests import load_project
from dialogops.plandoc import SavedPlan
from dialogops.planner import Plan, build_plan
from dialogops.savedplan import already_applied, check_fresh, planned_creates, read_saved_plan
from dialogops.state import StateLock
from dialogops.variables import resolve_vars
from dialogops.views.apply import ApplyView


@dataclass(frozen=True)
class ApplyRequest:
    """Everything `dialogops apply` was asked to do."""

    files: ProjectFiles = field(default_factory=ProjectFiles)
    paths: tuple[Path, ...] = ()
    vars: Mapping[str, str] = field(default_factory=dict)
    var_files: tuple[Path, ...] = ()
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    plan_file: Path | None = None
    auto_approve: bool = False
    parallelism: int = 4
    lock_timeout: float = 0.0
    no_color: bool = False
    # The command line recorded in the lock, for the message of a second apply that waits.
    command: str = "dialogops apply"


def run(request: ApplyRequest, ask: Callable[[str], str] | None) -> int:
    """Apply; `ask` reads an answer from a terminal (None: there is no terminal to ask on).

    A saved plan (`plan_file`) is planned again for the campaigns it creates, and applied
    only if none of them changed since; when all of them have been created since as planned
    (a job run again), nothing is sent.
    """
    files = request.files
    config = files.load_config()
    if not files.sandbox:
        check_url(config.api_url)  # before the lock, the plan and any pending entry
    view = ApplyView(no_color=request.no_color)
    saved = read_saved_plan(request.plan_file) if request.plan_file is not None else None
    project = load_project(
        list(request.paths) or list(config.manifests), config, defer_data_files=True
    )
    targets, replace = request.targets, request.replace
    if saved is not None:
        check_options(saved, targets, replace)
        targets = planned_creates(saved, {c.name for c in project.campaigns}, files.hints)
        if not targets:
            view.nothing_to_create()
            return 0
        replace = tuple(name for name in saved.replace if name in targets)
    vars = resolve_vars(config.vars, request.var_files, request.vars)
    backend = state_backend(config, sandbox=files.sandbox)
    needed = needed_by(project)
    # With the key, every create is recorded; without it, only a project that needs the
    # ledger to plan is refused.
    key = require_key(needed) if needed is not None else optional_key()
    with (
        backend.lock(request.command, request.lock_timeout) as lock,
        contextlib.ExitStack() as stack,
    ):
        state = lock.read()
        recorder = None
        if key is not None:
            ledger = stack.enter_context(ledger_store(config, sandbox=files.sandbox, lock=lock))
            ledger.reconcile(state)
            recorder = Recorder(ledger, key)
        if saved is not None:
            applied = already_applied(saved, state, config.environment)
            if applied:
                view.already_applied(applied)
                return 0
        # Each body to send is rendered once, here: the one the plan fingerprints, with
        # the recipients the contact ledger leaves out already left out.
        check = None
        if recorder is not None:
            check = recorder.check(config.policy.frequency, files.hints)
        plan = build_plan(
            project,
            state,
            targets=targets,
            replace=replace,
            vars=vars,
            hints=files.hints,
            ledger=check,
            keep_bodies=True,
        )
        with contextlib.closing(plan):
            if saved is not None:
                check_fresh(saved, plan)
            view.plan(plan)
            refuse_blockers(plan)
            if not plan.creates:
                view.nothing_to_create()
                return 0
            # The sandbox starts a state of its own; a real one is started on purpose.
            if not files.sandbox and not backend.exists():
                raise StateError("apply refused: " + no_state(backend, files.hints))
            if saved is None and not request.auto_approve:
                confirm(len(plan.creates), ask, files.hints)
            with open_client(config, sandbox=files.sandbox) as client:
                return _execute(plan, lock, client, request.parallelism, view, recorder)


def check_options(saved: SavedPlan, targets: tuple[str, ...], replace: tuple[str, ...]) -> None:
    """`--target` and `--replace` given with a saved plan must be its own (CI passes the same
    arguments to plan and apply): a saved plan applies what it planned."""
    for option, given, planned in (
        ("--target", targets, saved.targets),
        ("--replace", replace, saved.replace),
    ):
        if given and set(given) != set(planned):
            made = " ".join(f"{option} {name}" for name in planned) or f"no {option}"
            raise UsageError(
                f"{option} differs from the saved plan's ({made}): a saved plan applies what "
                "it planned; plan again to change it"
            )


def refuse_blockers(plan: Plan) -> None:
    """Refuse to start while a targeted campaign is changed (without --replace), unknown,
    or would call people outside their allowed local hours."""
    if not plan.blockers:
        return
    lines = [f"  {a.name}: {a.status}; {a.hours_blocked or a.resolution}" for a in plan.blockers]
    raise StateError(
        "apply refused: resolve these campaigns first, or leave them out with --target:\n"
        + "\n".join(lines)
    )


def confirm(count: int, ask: Callable[[str], str] | None, hints: Hints = PLAIN) -> None:
    """Go on only on a `yes` typed on a terminal."""
    if ask is None:
        raise UsageError(
            "apply needs confirmation: there is no terminal to ask on; "
            f"review `{hints.command('plan')}` and pass --auto-approve"
        )
    noun = "campaign" if count == 1 else "campaigns"
    answer = ask(f"Create {count} {noun}? Only 'yes' is accepted: ")
    if answer.strip() != "yes":
        raise UsageError("apply cancelled: nothing was created")


def _execute(
    plan: Plan,
    lock: StateLock,
    client: DialogClient,
    parallelism: int,
    view: ApplyView,
    recorder: Recorder | None,
) -> int:
    progress = view.creating(len(plan.creates))
    executor = Executor(
        lock,
        client,
        parallelism=parallelism,
        on_outcome=progress.done,
        hints=plan.hints,
        ledger=recorder,
    )
    with interrupts(executor, lock, view) as pressed, progress:
        outcomes = executor.run(plan.creates)
    result = ApplyResult(outcomes, interrupted=pressed.is_set())
    view.finished(result)
    return result.exit_code


@contextlib.contextmanager
def interrupts(executor: Executor, lock: StateLock, view: ApplyView) -> Iterator[threading.Event]:
    """First Ctrl-C or SIGTERM: start nothing new and drain; second: release the lock, exit 130.

    SIGTERM counts as Ctrl-C because CI runners cancel a job with it.

    Yields an event that is set once Ctrl-C was pressed. Outside the main thread (where
    signal handlers cannot be installed) Ctrl-C keeps its default behaviour.
    """
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        if pressed.is_set():
            # Released first: a state write still under way finishes, later ones are refused.
            lock.release()
            view.interrupted_again()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        pressed.set()
        executor.halt("apply was interrupted")
        view.interrupted()

    previous = {
        signum: signal.signal(signum, on_interrupt) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield pressed
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
