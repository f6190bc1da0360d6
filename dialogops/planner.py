"""Diffing rendered campaigns against state into a frozen `Plan`.

The plan decides, once, what each campaign's status is; `views/plan.py` only shows it and
`apply.py` only executes it. Planning renders every targeted campaign but needs no network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from dialogops.changes import FieldChange, field_changes, sent_summary
from dialogops.errors import Problem, RenderError, Rule, UsageError
from dialogops.hints import PLAIN, Hints
from dialogops.ledger.judge import LedgerCheck, LedgerFindings
from dialogops.localhours import Assessment, expand
from dialogops.manifests.campaigns import in_the_past
from dialogops.manifests.project import today_in
from dialogops.render import Keep, RenderedCampaign, render_campaign
from dialogops.specs import Campaign, InlineSource, Project
from dialogops.state import Sent, State, StateEntry

ActionStatus = Literal["create", "unchanged", "changed", "replace", "unknown", "orphaned"]

MARKS: Mapping[ActionStatus, str] = {
    "create": "+",
    "replace": "-/+",
    "unchanged": "=",
    "changed": "!",
    "unknown": "?",
    "orphaned": "-",
}


@dataclass(frozen=True)
class Action:
    """What plan found for one campaign name, and what apply would do about it."""

    name: str
    # "replace": changed with a raised metadata.revision, or named by --replace
    status: ActionStatus
    campaign: Campaign | None  # None for orphaned
    rendered: RenderedCampaign | None  # None for orphaned
    entry: StateEntry | None  # None for create
    # What apply records in state: for a campaign it would create, or one that changed.
    sent: Sent | None = None
    # For changed and replace: every field that differs from the entry, old -> new;
    # None when the entry does not record what was sent (written by an older dialogops).
    changes: tuple[FieldChange, ...] | None = None
    # For changed and unknown: what unblocks it, with the commands to run.
    resolution: str | None = None
    # Under policy.local_hours: its recipients by UTC offset against their allowed hours.
    local_hours: Assessment | None = None
    # What the contact ledger found among the recipients of a campaign to create.
    ledger: LedgerFindings | None = None

    @property
    def mark(self) -> str:
        return MARKS[self.status]

    @property
    def will_create(self) -> bool:
        return self.status in ("create", "replace")

    @property
    def hours_blocked(self) -> str | None:
        """Why a campaign to create may not be: recipients outside their local hours."""
        if self.will_create and self.local_hours is not None:
            return self.local_hours.blocking
        return None


@dataclass(frozen=True)
class Plan:
    """Every targeted campaign's action, and the state and options it was made against."""

    actions: tuple[Action, ...]  # sorted by name; only targeted ones when --target
    lineage: str
    serial: int
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    var_names: tuple[str, ...] = ()
    environment: str | None = None  # the dialogops.yaml environment planned for
    hints: Hints = field(default_factory=Hints)  # how the commands in hints are written

    # Cached: a plan of years of state holds 100,000 actions, and every view asks these.
    @cached_property
    def creates(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.will_create)

    @cached_property
    def blockers(self) -> tuple[Action, ...]:
        """Campaigns that stop apply: changed without --replace, of unknown outcome,
        calling people outside their allowed local hours, or with recipients over a
        frequency cap."""
        return tuple(
            a
            for a in self.actions
            if a.status in ("changed", "unknown")
            or a.hours_blocked
            or (a.ledger is not None and a.ledger.blocks)
        )

    @property
    def has_changes(self) -> bool:
        """Whether apply would do (or refuse) anything; orphans are only a warning."""
        return any(a.status not in ("unchanged", "orphaned") for a in self.actions)

    @property
    def phones_to_call(self) -> int:
        return sum(a.rendered.stats.phones for a in self.creates if a.rendered is not None)

    def count(self, status: ActionStatus) -> int:
        return self._counts[status]

    @cached_property
    def _counts(self) -> Counter[ActionStatus]:
        return Counter(a.status for a in self.actions)

    def close(self) -> None:
        """Drop the request bodies kept for apply (`build_plan(keep_bodies=True)`)."""
        for action in self.actions:
            if action.rendered is not None:
                action.rendered.close()

    def summary(self) -> str:
        """The one-line summary every view ends (or starts) with."""
        phones = self.phones_to_call
        return (
            f"Plan: {len(self.creates)} to create, {self.count('unchanged')} unchanged, "
            f"{self.count('changed')} changed, {self.count('unknown')} unknown, "
            f"{self.count('orphaned')} orphaned; "
            f"{phones} {'phone' if phones == 1 else 'phones'} would be called."
        )


def build_plan(
    project: Project,
    state: State,
    *,
    targets: Iterable[str] = (),
    replace: Iterable[str] = (),
    vars: Mapping[str, str] | None = None,
    today: dt.date | None = None,
    hints: Hints = PLAIN,
    ledger: LedgerCheck | None = None,
    keep_bodies: bool = False,
) -> Plan:
    """Render every targeted campaign and compare it with its state entry.

    Every rendering and policy problem of every campaign, and the past date of each one
    it would create (`today` on the config's wall clock), are raised together as one
    `RenderError`; options naming no campaign, or replacing one that is not changed, raise
    `UsageError`. With a `ledger`, the recipients of each campaign to create are judged
    against the contact ledger (frequency caps, `only_new`) as they are rendered. With
    `keep_bodies` (apply), each campaign's request body is kept as it was fingerprinted
    (the ledger's filter applied), until `Plan.close`.
    """
    targets = tuple(dict.fromkeys(targets))
    replace = tuple(dict.fromkeys(replace))
    vars = dict(vars or {})
    config = project.config
    # A split manifest's parts (NAME@+03) are known once its rows are read: a target
    # naming the manifest or one part selects the manifest to expand.
    wanted = {name.partition("@")[0] for name in targets}
    expansion = expand([c for c in project.campaigns if not targets or c.name in wanted])
    campaigns = [c for c in expansion.campaigns if not targets or _targeted(c.name, targets)]
    split = set(expansion.split)
    manifest_names = {c.name for c in (*project.campaigns, *expansion.campaigns)} - split
    known = manifest_names | set(state.campaigns) | split
    _check_names("--target", targets, known)
    _check_names("--replace", replace, manifest_names | split)
    if targets:
        outside = [name for name in replace if not _targeted(name, targets)]
        if outside:
            raise UsageError(f"--replace {', '.join(outside)}: not among the --target campaigns")
    replacing = {c.name for c in campaigns if _targeted(c.name, replace)}

    rendered: dict[str, RenderedCampaign] = {}
    judge = None if ledger is None else _judge(ledger, state, replacing)
    try:
        problems = _render_all(
            campaigns, vars, config.policy.max_phones_per_campaign, rendered, keep_bodies, judge
        )
        problems = list(dict.fromkeys([*expansion.problems, *problems]))
        if problems:
            raise RenderError(problems)
        actions = [
            _action(c, rendered[c.name], state.get(c.name), c.name in replacing, hints)
            for c in campaigns
        ]
        past = _past_dates(actions, today or today_in(config.timezone), config.timezone)
        if past:
            raise RenderError(past)
        if ledger is not None:
            actions = [_with_findings(a, ledger, vars) for a in actions]
        actions = [_with_changes(a, project, expansion.assessments.get(a.name)) for a in actions]
        orphans = [name for name in state.campaigns if not targets or _targeted(name, targets)]
        actions += [
            Action(name, "orphaned", None, None, state.campaigns[name])
            for name in sorted(set(orphans) - manifest_names)
        ]
        not_changed = [a for a in actions if a.name in replacing and a.status != "replace"]
        if not_changed:
            details = ", ".join(f"{a.name} is {a.status}" for a in not_changed)
            raise UsageError(f"--replace only applies to changed campaigns: {details}")
    except BaseException:
        for result in rendered.values():
            result.close()
        raise

    return Plan(
        actions=tuple(sorted(actions, key=lambda a: a.name)),
        lineage=state.lineage,
        serial=state.serial,
        targets=targets,
        replace=replace,
        var_names=tuple(sorted(vars)),
        environment=config.environment,
        hints=hints,
    )


def _targeted(name: str, targets: Iterable[str]) -> bool:
    """Whether `name` is one of `targets`, or a part of a split manifest among them."""
    return any(name == target or name.startswith(f"{target}@") for target in targets)


def _check_names(option: str, names: tuple[str, ...], known: set[str]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"{option} {', '.join(unknown)}: no campaign of that name")


def _judge(
    ledger: LedgerCheck, state: State, replacing: set[str]
) -> Callable[[Campaign], Keep | None]:
    return lambda c: ledger.start(c, state.get(c.name), c.name in replacing)


def _render_all(
    campaigns: list[Campaign],
    vars: Mapping[str, str],
    max_phones: int | None,
    rendered: dict[str, RenderedCampaign],
    keep_bodies: bool,
    judge: Callable[[Campaign], Keep | None] | None = None,
) -> list[Problem]:
    """Render each campaign into `rendered`; every problem found."""
    problems: list[Problem] = []
    # In plan order: the contact ledger counts each campaign's recipients for the next.
    for campaign in sorted(campaigns, key=lambda c: c.name):
        try:
            keep = None if judge is None else judge(campaign)
            result = render_campaign(campaign, vars, keep, keep_body=keep_bodies)
        except RenderError as exc:
            problems.extend(exc.problems)
            continue
        rendered[campaign.name] = result
        if max_phones is not None and result.stats.phones > max_phones:
            source = campaign.phones.source
            # A data file's count is only known now: point at where the file is named.
            where = campaign.location if isinstance(source, InlineSource) else source.location
            problems.append(
                Problem(
                    where,
                    "spec.phones",
                    f"{result.stats.phones} phones is more than "
                    f"policy.max_phones_per_campaign of {max_phones}",
                    Rule.POLICY,
                )
            )
    return problems


def _action(
    campaign: Campaign,
    rendered: RenderedCampaign,
    entry: StateEntry | None,
    replace: bool,
    hints: Hints,
) -> Action:
    status: ActionStatus
    resolution = None
    if entry is None:
        status = "create"
    elif entry.outcome_unknown:
        status = "unknown"
        resolution = (
            f"{hints.command(f'import {campaign.name} ID')} or "
            f"{hints.command(f'state rm {campaign.name}')}"
        )
    elif campaign.revision > entry.revision:
        status = "replace"
    elif entry.fingerprint == rendered.fingerprint:
        status = "unchanged"
    elif replace:
        status = "replace"
    else:
        status = "changed"
        resolution = (
            f"revert the change, or raise metadata.revision to {entry.revision + 1} "
            f"in {campaign.location.path} to create a new campaign"
        )
    return Action(campaign.name, status, campaign, rendered, entry, resolution=resolution)


def _with_findings(action: Action, ledger: LedgerCheck, vars: Mapping[str, str]) -> Action:
    """What the ledger found for a campaign to create; a changed one that the ledger shows
    is as created (its manifest lists recipients the ledger left out) is unchanged."""
    campaign, entry = action.campaign, action.entry
    if action.status == "changed" and campaign is not None and entry is not None:
        rendered = ledger.as_created(campaign, entry, vars)
        if rendered is not None:
            if action.rendered is not None:
                action.rendered.close()  # its kept body is not to be sent
            return dataclasses.replace(
                action, status="unchanged", rendered=rendered, resolution=None
            )
    findings = ledger.findings(action.name)
    if findings is None or not action.will_create:
        return action
    resolution = action.resolution
    if findings.blocks and action.campaign is not None:
        resolution = (
            f"{findings.over} recipients over policy.frequency; set "
            f"spec.phones.on_frequency: skip in {action.campaign.location.path} to leave them out"
        )
    return dataclasses.replace(action, ledger=findings, resolution=resolution)


def _past_dates(actions: list[Action], today: dt.date, timezone: str) -> list[Problem]:
    """A located error for each campaign to create on a date already gone.

    A campaign created (or of unknown outcome) before its date went by keeps its date.
    """
    problems = []
    for action in actions:
        campaign = action.campaign
        if campaign is None or not action.will_create:
            continue
        past = in_the_past(campaign.schedule.date, today, timezone)
        if past is not None:
            problems.append(
                Problem(
                    campaign.date_location or campaign.location,
                    "spec.schedule.date",
                    f"{past}: a campaign to create needs a date from today on",
                    Rule.DATE_IN_PAST,
                )
            )
    return problems


def _with_changes(action: Action, project: Project, hours: Assessment | None) -> Action:
    """The summary apply records, the changed fields, and the local hours, of what plan
    would do or refuse."""
    action = dataclasses.replace(action, local_hours=hours)
    campaign, rendered, entry = action.campaign, action.rendered, action.entry
    if (
        campaign is None
        or rendered is None
        or action.status not in ("create", "replace", "changed")
    ):
        return action
    sent = sent_summary(campaign, project.config.root, rendered.data_files)
    changes = None if entry is None else field_changes(entry, sent, rendered.stats.phones)
    return dataclasses.replace(action, sent=sent, changes=changes)
