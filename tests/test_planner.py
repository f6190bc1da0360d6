"""Plan statuses, targets, --replace and policy, from hand-made campaigns and states."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dialogops.errors import Location, RenderError, UsageError
from dialogops.planner import Plan, build_plan
from dialogops.render import render_campaign
from dialogops.specs import (
    Campaign,
    Config,
    CsvSource,
    InlineSource,
    PhonesSpec,
    Policy,
    Project,
    Schedule,
)
from dialogops.state import State, StateEntry

FAR_DATE = dt.date(2099, 12, 1)
PHONES = ("+79991234567", "+79991234568", "+79991234569", "+79991234570")


def make_campaign(
    name: str,
    phones: Sequence[str | Mapping[str, Any]] = PHONES,
    *,
    title: str | None = None,
    add_data: Mapping[str, Any] | None = None,
) -> Campaign:
    """A validated campaign with inline phones, as the manifest loader would build it."""
    path = f"campaigns/{name}.yaml"
    return Campaign(
        name=name,
        location=Location(path, 1, 1),
        project_id=1,
        title=title or f"Обзвон {name}",
        description="",
        start_block_id=10,
        phone_id=5,
        schedule=Schedule(FAR_DATE, dt.time(9, 0), dt.time(17, 0), attempts=3, interval_minutes=5),
        phones=PhonesSpec(
            InlineSource(
                entries=tuple(phones),
                locations=tuple(Location(path, 12 + i, 9) for i in range(len(phones))),
            )
        ),
        add_data=dict(add_data or {}),
        add_data_locations={key: Location(path, 30, 5) for key in add_data or {}},
    )


def make_project(*campaigns: Campaign, policy: Policy | None = None) -> Project:
    config = Config(root=Path("/nonexistent-project"), path=None, policy=policy or Policy())
    return Project(config=config, campaigns=campaigns, reports=())


def entry_for(
    campaign: Campaign, status: str = "created", *, fingerprint: str | None = None, id: int = 100
) -> StateEntry:
    """A state entry; by default with the fingerprint the campaign renders to now."""
    fp = fingerprint or render_campaign(campaign, {}).fingerprint
    return StateEntry(
        name=campaign.name,
        status=status,  # type: ignore[arg-type]
        fingerprint=fp,
        phones=4,
        id=id if status == "created" else None,
        created_at="2026-01-01T00:00:00Z" if status == "created" else None,
        started_at="2026-01-01T00:00:00Z",
    )


def make_state(*entries: StateEntry, serial: int = 7) -> State:
    return State(lineage="lineage-1", serial=serial, campaigns={e.name: e for e in entries})


OTHER_FP = "sha256:" + "0" * 64


def all_statuses() -> tuple[Project, State]:
    """One campaign of each status: create, unchanged, changed, unknown, pending, orphaned."""
    new, same, edited, lost, pending = (
        make_campaign(n) for n in ("new", "same", "edited", "lost", "pending")
    )
    gone = make_campaign("gone")
    state = make_state(
        entry_for(same),
        entry_for(edited, fingerprint=OTHER_FP),
        entry_for(lost, "unknown"),
        entry_for(pending, "pending"),
        entry_for(gone, id=5),
    )
    return make_project(new, same, edited, lost, pending), state


def statuses(plan: Plan) -> dict[str, str]:
    return {a.name: a.status for a in plan.actions}


def test_each_status_is_derived_from_state_and_fingerprint() -> None:
    project, state = all_statuses()
    plan = build_plan(project, state)
    assert statuses(plan) == {
        "edited": "changed",
        "gone": "orphaned",
        "lost": "unknown",
        "new": "create",
        "pending": "unknown",
        "same": "unchanged",
    }
    assert [a.name for a in plan.actions] == sorted(statuses(plan))
    assert (plan.lineage, plan.serial) == ("lineage-1", 7)


def test_blockers_resolutions_and_summary() -> None:
    project, state = all_statuses()
    plan = build_plan(project, state)
    assert [a.name for a in plan.blockers] == ["edited", "lost", "pending"]
    assert [a.name for a in plan.creates] == ["new"]
    by_name = {a.name: a for a in plan.actions}
    assert by_name["edited"].resolution == "dialogops apply --replace edited"
    assert by_name["lost"].resolution == "dialogops import lost ID or dialogops state rm lost"
    assert by_name["new"].resolution is None
    assert by_name["gone"].campaign is None and by_name["gone"].rendered is None
    assert plan.has_changes
    assert plan.summary() == (
        "Plan: 1 to create, 1 unchanged, 1 changed, 2 unknown, 1 orphaned; "
        "4 phones would be called."
    )


def test_replace_turns_a_changed_campaign_into_a_create() -> None:
    project, state = all_statuses()
    plan = build_plan(project, state, replace=["edited"])
    action = next(a for a in plan.actions if a.name == "edited")
    assert action.status == "replace"
    assert action.will_create and action.mark == "-/+"
    assert action.entry is not None and action.entry.id == 100
    assert [a.name for a in plan.creates] == ["edited", "new"]
    assert plan.replace == ("edited",)


@pytest.mark.parametrize("name", ["same", "lost", "new"])
def test_replace_of_a_campaign_that_is_not_changed_is_refused(name: str) -> None:
    project, state = all_statuses()
    with pytest.raises(UsageError, match=f"--replace only applies to changed campaigns: {name} is"):
        build_plan(project, state, replace=[name])


def test_targets_limit_the_plan_and_unknown_names_are_refused() -> None:
    project, state = all_statuses()
    plan = build_plan(project, state, targets=["new", "gone"])
    assert statuses(plan) == {"gone": "orphaned", "new": "create"}
    assert plan.targets == ("new", "gone")
    assert not plan.blockers
    with pytest.raises(UsageError, match="--target nope: no campaign of that name"):
        build_plan(project, state, targets=["new", "nope"])
    with pytest.raises(UsageError, match="--replace nope: no campaign of that name"):
        build_plan(project, state, replace=["nope"])
    with pytest.raises(UsageError, match="--replace edited: not among the --target"):
        build_plan(project, state, targets=["new"], replace=["edited"])


def test_only_orphans_and_unchanged_mean_no_changes() -> None:
    project, state = all_statuses()
    plan = build_plan(project, state, targets=["same", "gone"])
    assert not plan.has_changes
    assert plan.phones_to_call == 0


def test_render_problems_of_every_campaign_are_raised_together() -> None:
    bad_one = make_campaign("bad-one", ["+79991234567", "12"])
    bad_two = make_campaign("bad-two", ["not a phone"])
    project = make_project(bad_one, make_campaign("fine"), bad_two)
    with pytest.raises(RenderError) as info:
        build_plan(project, State())
    paths = [p.location.path for p in info.value.problems]
    assert "campaigns/bad-one.yaml" in paths and "campaigns/bad-two.yaml" in paths
    assert next(p for p in info.value.problems if p.location.path == "campaigns/bad-one.yaml"
                ).location.line == 13


def test_policy_max_phones_is_a_problem_at_the_campaign() -> None:
    project = make_project(
        make_campaign("big"), make_campaign("small", PHONES[:2]),
        policy=Policy(max_phones_per_campaign=3),
    )
    with pytest.raises(RenderError) as info:
        build_plan(project, State())
    assert [str(p) for p in info.value.problems] == [
        "campaigns/big.yaml:1:1: spec.phones: 4 phones is more than "
        "policy.max_phones_per_campaign of 3"
    ]
    assert statuses(build_plan(project, State(), targets=["small"])) == {"small": "create"}


def test_vars_change_the_fingerprint_and_are_recorded_by_name() -> None:
    campaign = make_campaign("greet", add_data={"greeting": "{{ vars.hello }}"})
    project = make_project(campaign)
    plan = build_plan(project, State(), vars={"hello": "hi", "a": "b"})
    assert plan.var_names == ("a", "hello")
    other = build_plan(project, State(), vars={"hello": "bye", "a": "b"})
    fingerprints = {p.actions[0].rendered.fingerprint for p in (plan, other)}  # type: ignore[union-attr]
    assert len(fingerprints) == 2


def test_empty_state_plans_every_campaign_as_create() -> None:
    plan = build_plan(make_project(make_campaign("a"), make_campaign("b", PHONES[:1])), State())
    assert statuses(plan) == {"a": "create", "b": "create"}
    assert plan.phones_to_call == 5
    assert (plan.lineage, plan.serial) == ("", 0)


def test_the_summary_says_one_phone_not_one_phones() -> None:
    plan = build_plan(make_project(make_campaign("solo", PHONES[:1])), State())
    assert plan.summary().endswith("; 1 phone would be called.")


def test_policy_max_phones_of_a_data_file_points_at_the_file_in_the_manifest(
    tmp_path: Path,
) -> None:
    data = tmp_path / "big.csv"
    data.write_text("phone\n" + "\n".join(PHONES) + "\n", encoding="utf-8")
    named_at = Location("campaigns/big.yaml", 14, 13)
    big = dataclasses.replace(
        make_campaign("big"),
        phones=PhonesSpec(CsvSource(data, named_at)),
    )
    with pytest.raises(RenderError) as info:
        build_plan(make_project(big, policy=Policy(max_phones_per_campaign=3)), State())
    assert [str(p) for p in info.value.problems] == [
        "campaigns/big.yaml:14:13: spec.phones: 4 phones is more than "
        "policy.max_phones_per_campaign of 3"
    ]
