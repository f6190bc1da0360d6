"""Plan statuses, targets, --replace and policy, from hand-made campaigns and states."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from dialogops.changes import FieldChange, sent_summary
from dialogops.errors import Location, RenderError, UsageError
from dialogops.hints import Hints
from dialogops.planner import Plan, build_plan
from dialogops.specs import Campaign, CsvSource, PhonesSpec, Policy, Schedule
from dialogops.state import State
from tests.sample_plans import (
    FAR_DATE,
    OTHER_FP,
    PHONES,
    all_statuses,
    entry_for,
    make_campaign,
    make_project,
    make_state,
)


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
    assert by_name["edited"].resolution == (
        "revert the change, or raise metadata.revision to 2 in campaigns/edited.yaml "
        "to create a new campaign"
    )
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


def test_resolutions_repeat_sandbox_and_env() -> None:
    project, state = all_statuses()
    plan = build_plan(project, state, hints=Hints(sandbox=True, environment="prod"))
    assert {a.name: a.resolution for a in plan.blockers}["lost"] == (
        "dialogops import lost ID --env prod --sandbox or "
        "dialogops state rm lost --env prod --sandbox"
    )
    assert plan.hints == Hints(sandbox=True, environment="prod")


def revised(revision: int, *, edited: bool) -> tuple[Plan, Plan]:
    """The plan of campaign `c` at `revision`, created at revision 1 (edited since or not)."""
    created = make_campaign("c")
    entry = entry_for(created, sent=sent_summary(created, Path("/p"), {}))
    now = make_campaign("c", PHONES[:3] if edited else PHONES)
    now = dataclasses.replace(now, revision=revision)
    state = make_state(entry)
    return build_plan(make_project(now), state), build_plan(make_project(now), make_state())


@pytest.mark.parametrize(
    ("revision", "edited", "status"),
    [
        (1, True, "changed"),  # the same revision: the API cannot update it
        (2, True, "replace"),  # raised in the manifest: created anew, reviewed in the diff
        (2, False, "replace"),  # raised alone: created anew all the same, as declared
        (1, False, "unchanged"),
    ],
)
def test_a_raised_revision_replaces_a_created_campaign(
    revision: int, edited: bool, status: str
) -> None:
    plan, fresh = revised(revision, edited=edited)
    assert statuses(plan) == {"c": status}
    assert statuses(fresh) == {"c": "create"}


def test_a_lower_revision_than_recorded_is_no_replacement() -> None:
    campaign = dataclasses.replace(make_campaign("c"), revision=3)
    entry = entry_for(campaign, sent=sent_summary(campaign, Path("/p"), {}))
    lowered = dataclasses.replace(campaign, revision=2)
    assert statuses(build_plan(make_project(lowered), make_state(entry))) == {"c": "unchanged"}


def test_an_unknown_outcome_stays_unknown_whatever_the_revision() -> None:
    campaign = dataclasses.replace(make_campaign("c"), revision=2)
    plan = build_plan(make_project(campaign), make_state(entry_for(campaign, "unknown")))
    assert statuses(plan) == {"c": "unknown"}


def test_changed_fields_are_listed_old_to_new() -> None:
    created = make_campaign("c", add_data={"name": "{{ row.phone }}", "gone": "x"})
    entry = entry_for(created, sent=sent_summary(created, Path("/p"), {}))
    later = dataclasses.replace(
        make_campaign(
            "c", PHONES[:3], title="Опрос", add_data={"name": "{{ row.phone }}!", "n": 1}
        ),
        schedule=Schedule(FAR_DATE, dt.time(10, 0), dt.time(17, 0), 3, 5),
    )
    [changed] = build_plan(make_project(later), make_state(entry)).actions
    assert changed.status == "changed"
    assert changed.changes == (
        FieldChange("title", "Обзвон c", "Опрос"),
        FieldChange("schedule.start_time", "09:00", "10:00"),
        FieldChange("add_data.name", "{{ row.phone }}", "{{ row.phone }}!"),
        FieldChange("add_data.gone", "x", None),
        FieldChange("add_data.n", None, 1),
        FieldChange("phones", 4, 3),
    )
    assert changed.sent == sent_summary(later, Path("/p"), {})


def test_an_entry_without_a_summary_plans_with_changes_not_recorded() -> None:
    project, state = all_statuses()
    by_name = {a.name: a for a in build_plan(project, state, replace=["edited"]).actions}
    assert by_name["edited"].status == "replace"
    assert by_name["edited"].changes is None and by_name["edited"].sent is not None
    # Only what apply would record or refuse carries a summary.
    assert by_name["new"].sent is not None and by_name["new"].changes is None
    assert by_name["same"].sent is None and by_name["lost"].sent is None


def dated(name: str, date: dt.date) -> Campaign:
    where = Location(f"campaigns/{name}.yaml", 10, 11)
    campaign = make_campaign(name)
    schedule = dataclasses.replace(campaign.schedule, date=date)
    return dataclasses.replace(campaign, schedule=schedule, date_location=where)


def test_a_past_date_is_refused_only_for_a_campaign_to_create() -> None:
    today = dt.date(2099, 12, 8)
    done, old, fresh = (dated(n, dt.date(2099, 12, 1)) for n in ("done", "old", "fresh"))
    state = make_state(entry_for(done), entry_for(old, "unknown"))
    project = make_project(done, old, fresh)

    with pytest.raises(RenderError) as info:
        build_plan(project, state, today=today)
    assert [str(p) for p in info.value.problems] == [
        "campaigns/fresh.yaml:10:11: spec.schedule.date: 2099-12-01 is in the past in "
        "Europe/Moscow: a campaign to create needs a date from today on"
    ]
    plan = build_plan(project, state, targets=["done", "old"], today=today)
    assert statuses(plan) == {"done": "unchanged", "old": "unknown"}


def test_a_past_date_is_refused_for_a_replacement() -> None:
    campaign = dated("done", dt.date(2099, 12, 1))
    state = make_state(entry_for(campaign, fingerprint=OTHER_FP))
    project = make_project(campaign)
    assert statuses(build_plan(project, state, today=dt.date(2099, 12, 8))) == {"done": "changed"}
    with pytest.raises(RenderError, match="2099-12-01 is in the past"):
        build_plan(project, state, replace=["done"], today=dt.date(2099, 12, 8))
