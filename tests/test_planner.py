"""Plan statuses, targets, --replace and policy, from hand-made campaigns and states."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sample_plans import PHONES, all_statuses, make_campaign, make_project

from dialogops.errors import Location, RenderError, UsageError
from dialogops.planner import Plan, build_plan
from dialogops.specs import CsvSource, PhonesSpec, Policy
from dialogops.state import State


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
    assert (
        next(
            p for p in info.value.problems if p.location.path == "campaigns/bad-one.yaml"
        ).location.line
        == 13
    )


def test_policy_max_phones_is_a_problem_at_the_campaign() -> None:
    project = make_project(
        make_campaign("big"),
        make_campaign("small", PHONES[:2]),
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
