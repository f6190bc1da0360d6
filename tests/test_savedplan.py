"""Saved plans: what they hold (and never hold), reading them back, and stale-plan detection."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from dialogops.errors import StateError, UsageError
from dialogops.hints import PLAIN, Hints
from dialogops.plandoc import OptionsDoc, SavedPlan, StateDoc
from dialogops.planner import Plan, build_plan
from dialogops.savedplan import (
    already_applied,
    check_fresh,
    planned_creates,
    read_saved_plan,
    write_saved_plan,
)
from dialogops.specs import Project
from dialogops.state import State, StateEntry
from dialogops.views import plan as view
from tests.sample_plans import (
    OTHER_FP,
    PHONES,
    all_statuses,
    entry_for,
    make_campaign,
    make_project,
)

SECRET_VALUE = "Иванов-секретное-значение"


def sample_plan() -> Plan:
    campaign = make_campaign(
        "nps",
        [{"phone": PHONES[0], "last_name": SECRET_VALUE}, PHONES[1]],
        add_data={"name": "{{ row.last_name | default('x') }}", "code": SECRET_VALUE},
    )
    return build_plan(make_project(campaign, make_campaign("other")), State(), vars={"k": "v"})


def test_a_saved_plan_round_trips_and_records_state_options_and_fingerprints(
    tmp_path: Path,
) -> None:
    project, state = all_statuses()
    plan = build_plan(project, state, targets=["new", "edited"], replace=["edited"])
    path = tmp_path / "plan.json"
    write_saved_plan(plan, path)
    saved = read_saved_plan(path)
    assert (saved.format_version, saved.state) == (2, StateDoc("lineage-1", 7))
    assert saved.options == OptionsDoc(("new", "edited"), ("edited",), ())
    assert (saved.targets, saved.replace) == (("new", "edited"), ("edited",))
    fingerprints = {a.name: a.rendered.fingerprint for a in plan.actions if a.rendered}
    assert [
        (c.name, c.status, c.render.fingerprint, c.render.phones)
        for c in saved.campaigns
        if c.render
    ] == [
        ("edited", "replace", fingerprints["edited"], 4),
        ("new", "create", fingerprints["new"], 4),
    ]
    assert saved.created_at.endswith("+00:00")
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temp file left behind


def test_a_saved_plan_is_the_plan_document_with_its_time_and_without_sample_phones(
    tmp_path: Path,
) -> None:
    project, state = all_statuses()
    plan = build_plan(project, state, targets=["new", "gone"])
    path = tmp_path / "plan.json"
    write_saved_plan(plan, path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    shown = json.loads(view.as_json(plan))

    assert (saved.pop("format_version"), shown.pop("format_version")) == (2, 1)
    assert saved.pop("created_at")
    assert shown["campaigns"].pop(0)["status"] == "orphaned"  # counted, not saved
    assert shown["campaigns"][0]["render"].pop("sample_phones") == [
        "+7999***4567",
        "+7999***4568",
        "+7999***4569",
    ]
    assert shown["campaigns"][0]["render"].pop("skipped_rows") == []
    assert shown["campaigns"][0]["render"].pop("excluded_by") == []
    assert shown["campaigns"][0]["render"].pop("left_out") == 0
    assert [c.pop("changes") for c in shown["campaigns"]] == [None]
    assert saved == shown


def test_a_saved_plan_holds_no_phone_number_and_no_add_data_value(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_saved_plan(sample_plan(), path)
    text = path.read_text(encoding="utf-8")
    for phone in PHONES:
        assert phone not in text and phone[1:] not in text
    assert "sample_phones" not in text and "***" not in text  # not even masked
    assert SECRET_VALUE not in text
    assert json.loads(text)["options"]["vars"] == ["k"]


def test_campaigns_apply_leaves_alone_are_counted_not_saved(tmp_path: Path) -> None:
    project, state = all_statuses()
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, state, targets=["new", "same", "gone"]), path)
    saved = read_saved_plan(path)
    assert [(c.name, c.status) for c in saved.campaigns] == [("new", "create")]
    assert (saved.summary.create, saved.summary.unchanged, saved.summary.orphaned) == (1, 1, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not a dialogops saved plan (JSON is malformed: "),
        ("", "is not a dialogops saved plan (Input data was truncated)"),
        ("[]", "is not a dialogops saved plan ($: Expected `object`, got `array`)"),
        (
            '{"format_version": "2"}',
            "is not a dialogops saved plan ($.format_version: Expected `int`, got `str`)",
        ),
        (
            '{"format_version": 2}',
            "is not a dialogops saved plan ($: Object missing required field `dialogops_version`)",
        ),
    ],
)
def test_unreadable_plan_files_are_clear_errors(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_saved_plan(path)
    assert str(info.value).startswith(f"plan file {path} {message}")


def _breaks(path: list[str | int], value: Any) -> Callable[[Any], None]:
    """A change to a valid saved plan: set the field at `path` (None: delete it)."""

    def change(data: Any) -> None:
        *parents, last = path
        for key in parents:
            data = data[key]
        if value is None:
            del data[last]
        else:
            data[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_breaks(["created_at"], None), "$: Object missing required field `created_at`"),
        (_breaks(["state", "serial"], "7"), "$.state.serial: Expected `int`, got `str`"),
        (_breaks(["state", "serial"], -1), "$.state.serial: Expected `int` >= 0"),
        (  # the plan's counts are the state's: at most a signed 64-bit integer
            _breaks(["state", "serial"], 2**63),
            "$.state.serial: Expected `int` <= 9223372036854775807",
        ),
        (_breaks(["options", "vars"], "k"), "$.options.vars: Expected `array`, got `str`"),
        (
            _breaks(["campaigns", 0, "status"], "created"),
            "$.campaigns[0].status: Invalid enum value 'created'",
        ),
        (
            _breaks(["campaigns", 0, "render", "fingerprint"], "md5:1"),
            "$.campaigns[0].render.fingerprint: "
            "Expected `str` like sha256:<64 lowercase hex digits>",
        ),
        (
            _breaks(["campaigns", 1, "render"], None),
            "$.campaigns[1]: Object missing required field `render`",
        ),
    ],
)
def test_a_malformed_saved_plan_names_the_failing_path(
    tmp_path: Path, change: Callable[[Any], None], message: str
) -> None:
    path = tmp_path / "plan.json"
    write_saved_plan(sample_plan(), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_saved_plan(path)
    assert str(info.value) == f"plan file {path} is not a dialogops saved plan ({message})"


def test_an_integer_too_long_to_read_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_saved_plan(sample_plan(), path)
    text = path.read_text(encoding="utf-8")
    serial = f'"serial": {json.loads(text)["state"]["serial"]}'
    path.write_text(text.replace(serial, '"serial": ' + "9" * 5000, 1), encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_saved_plan(path)
    assert str(info.value) == (
        f"plan file {path} is not a dialogops saved plan "
        "($.state.serial: Integer value out of range)"
    )


@pytest.mark.parametrize(
    "content",
    [
        '{"format_version": 2, "x": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"format_version": 2, "dialogops_version": "1", "state": ' + "[" * 5000,
    ],
    ids=["skipped", "broken"],
)
def test_json_nested_too_deeply_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_saved_plan(path)
    assert str(info.value) == (
        f"plan file {path} is not a dialogops saved plan (JSON nested too deeply to read)"
    )


def test_a_plan_document_or_an_older_saved_plan_is_refused_naming_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(view.as_json(sample_plan()), encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_saved_plan(path)
    assert str(info.value) == (
        f"plan file {path} has format_version 1: it is the output of `plan --format json` or a "
        "plan saved by an older dialogops; save the plan again with `dialogops plan --out FILE`"
    )


def test_a_plan_from_a_newer_dialogops_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"format_version": 3, "dialogops_version": "9.0", "x": []}', "utf-8")
    with pytest.raises(StateError) as info:
        read_saved_plan(path)
    assert str(info.value) == (
        f"plan file {path} has format_version 3, written by dialogops 9.0; this dialogops "
        "reads up to 2: upgrade dialogops or run plan again"
    )


def test_writing_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write plan file"):
        write_saved_plan(sample_plan(), tmp_path / "missing" / "plan.json")


def saved_and_project(tmp_path: Path) -> tuple[SavedPlan, Project, State]:
    """A plan saved for `new` (to create), `same` (unchanged) and `gone` (orphaned)."""
    project, state = all_statuses()
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, state, targets=["new", "same", "gone"]), path)
    return read_saved_plan(path), project, state


def replan(saved: SavedPlan, project: Project, state: State) -> Plan:
    """What `apply --plan` plans again: the campaigns the saved plan creates."""
    names = planned_creates(saved, {c.name for c in project.campaigns}, PLAIN)
    return build_plan(project, state, targets=names)


def test_a_fresh_plan_passes(tmp_path: Path) -> None:
    saved, project, state = saved_and_project(tmp_path)
    assert planned_creates(saved, {"new"}, PLAIN) == ("new",)
    check_fresh(saved, replan(saved, project, state))


def test_other_campaigns_applied_since_leave_the_plan_fresh(tmp_path: Path) -> None:
    saved, project, state = saved_and_project(tmp_path)
    # Someone applied `other` and replaced `same`: the serial moved on, `new` did not.
    other = make_campaign("other")
    moved = dataclasses.replace(
        state.put(entry_for(other, id=300)).put(entry_for(make_campaign("same"), id=301)),
        serial=9,
    )
    check_fresh(saved, replan(saved, make_project(*project.campaigns, other), moved))


def test_another_state_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, project, state = saved_and_project(tmp_path)
    moved = dataclasses.replace(state, lineage="lineage-2")
    with pytest.raises(StateError) as info:
        check_fresh(saved, replan(saved, project, moved))
    assert str(info.value) == (
        "stale plan: the state lineage is 'lineage-2', the plan was made for 'lineage-1'; "
        "run dialogops plan again"
    )


def test_an_edited_campaign_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, project, state = saved_and_project(tmp_path)
    edited = make_project(
        *(make_campaign(c.name, PHONES[:2]) if c.name == "new" else c for c in project.campaigns)
    )
    with pytest.raises(StateError, match=r"^stale plan: campaign new renders differently"):
        check_fresh(saved, replan(saved, edited, state))


def test_a_campaign_without_its_manifest_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, _, _ = saved_and_project(tmp_path)
    with pytest.raises(StateError) as info:
        planned_creates(saved, {"same"}, Hints(sandbox=True))
    assert str(info.value) == (
        "stale plan: campaign new is no longer in the manifests; run dialogops plan --sandbox again"
    )


def test_its_campaign_created_since_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, project, state = saved_and_project(tmp_path)
    campaign = project.campaign("new")
    assert campaign is not None
    now = state.put(entry_for(campaign, fingerprint=OTHER_FP))
    with pytest.raises(StateError) as info:
        check_fresh(saved, replan(saved, project, now))
    assert str(info.value) == (
        "stale plan: campaign new was not in state when the plan was made, now created (id 100); "
        "run dialogops plan again"
    )


def test_a_replaced_entry_changed_since_makes_the_plan_stale(tmp_path: Path) -> None:
    project, state = all_statuses()
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, state, targets=["edited"], replace=["edited"]), path)
    edited = state.campaigns["edited"]
    imported = state.put(msgspec.structs.replace(edited, phones=5))
    with pytest.raises(StateError, match="campaign edited's state entry changed since the plan"):
        check_fresh(
            read_saved_plan(path),
            build_plan(project, imported, targets=["edited"], replace=["edited"]),
        )


def test_a_plan_for_another_environment_is_stale(tmp_path: Path) -> None:
    saved, project, state = saved_and_project(tmp_path)
    config = dataclasses.replace(project.config, environment="prod")
    plan = replan(saved, dataclasses.replace(project, config=config), state)
    with pytest.raises(
        StateError,
        match=r"^stale plan: the plan was made for no environment, this is environment 'prod'",
    ):
        check_fresh(saved, plan)


def test_a_plan_made_before_the_first_state_write_holds_for_the_state_since(
    tmp_path: Path,
) -> None:
    project, state = all_statuses()
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, State(), targets=["new"]), path)
    saved = read_saved_plan(path)
    check_fresh(saved, replan(saved, project, state))


def applied(saved: SavedPlan, state: State, new_id: int = 200) -> State:
    """`state` after the saved plan's creates were applied as planned."""
    for planned in saved.campaigns:
        if planned.will_create and planned.render is not None:
            entry = StateEntry(
                planned.name,
                "created",
                planned.render.fingerprint,
                planned.render.phones,
                id=new_id,
                created_at="2099-01-01T00:00:00Z",
            )
            state = state.put(entry)
    return state


def test_a_plan_applied_already_is_told_apart_from_a_stale_one(tmp_path: Path) -> None:
    saved, _, state = saved_and_project(tmp_path)
    assert already_applied(saved, state, None) == ()
    done = applied(saved, state)
    assert [(e.name, e.id) for e in already_applied(saved, done, None)] == [("new", 200)]
    assert already_applied(saved, done, "prod") == ()  # another environment's state
    created_elsewhere = state.put(
        msgspec.structs.replace(done.campaigns["new"], fingerprint=OTHER_FP)
    )
    assert already_applied(saved, created_elsewhere, None) == ()


def test_a_replacement_is_applied_only_once_it_has_a_new_id(tmp_path: Path) -> None:
    project, state = all_statuses()
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, state, targets=["edited"], replace=["edited"]), path)
    saved = read_saved_plan(path)
    assert already_applied(saved, applied(saved, state, new_id=100), None) == ()
    assert [e.id for e in already_applied(saved, applied(saved, state), None)] == [200]
