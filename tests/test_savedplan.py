"""Saved plans: what they hold (and never hold), reading them back, and stale-plan detection."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sample_plans import PHONES, all_statuses, entry_for, make_campaign, make_project

from dialogops.errors import StateError, UsageError
from dialogops.plandoc import OptionsDoc, SavedPlan, StateDoc
from dialogops.planner import Plan, build_plan
from dialogops.savedplan import check_fresh, read_saved_plan, write_saved_plan
from dialogops.specs import Project
from dialogops.state import State
from dialogops.views import plan as view

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
    assert shown["campaigns"][1]["render"].pop("sample_phones") == [
        "+7999***4567",
        "+7999***4568",
        "+7999***4569",
    ]
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


def test_orphans_are_saved_without_a_render(tmp_path: Path) -> None:
    project, state = all_statuses()
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, state, targets=["gone"]), path)
    [orphan] = read_saved_plan(path).campaigns
    assert (orphan.name, orphan.status, orphan.campaign, orphan.render) == (
        "gone",
        "orphaned",
        None,
        None,
    )


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
        (_breaks(["options", "vars"], "k"), "$.options.vars: Expected `array`, got `str`"),
        (
            _breaks(["campaigns", 0, "status"], "created"),
            "$.campaigns[0].status: Invalid enum value 'created'",
        ),
        (
            _breaks(["campaigns", 0, "render", "fingerprint"], "md5:1"),
            "$.campaigns[0].render.fingerprint: Expected `str` matching regex "
            "'^sha256:[0-9a-f]{64}$'",
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


def saved_and_project(tmp_path: Path) -> tuple[SavedPlan, Project, State, list[str]]:
    project, state = all_statuses()
    targets = ["new", "same", "gone"]
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, state, targets=targets), path)
    return read_saved_plan(path), project, state, targets


def test_a_fresh_plan_passes(tmp_path: Path) -> None:
    saved, project, state, targets = saved_and_project(tmp_path)
    check_fresh(saved, build_plan(project, state, targets=targets))


def test_a_new_state_serial_or_lineage_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, project, state, targets = saved_and_project(tmp_path)
    moved = dataclasses.replace(state, serial=8, lineage="lineage-2")
    with pytest.raises(StateError) as info:
        check_fresh(saved, build_plan(project, moved, targets=targets))
    message = str(info.value)
    assert message.startswith(
        "stale plan: the state lineage is 'lineage-2', the plan was made "
        "for 'lineage-1'; the state serial is 8, the plan was made at 7"
    )
    assert message.endswith("run dialogops plan again")


def test_an_edited_campaign_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, project, state, targets = saved_and_project(tmp_path)
    edited = make_project(
        *(make_campaign(c.name, PHONES[:2]) if c.name == "new" else c for c in project.campaigns)
    )
    with pytest.raises(StateError, match=r"^stale plan: campaign new renders differently"):
        check_fresh(saved, build_plan(edited, state, targets=targets))


def test_a_different_set_of_campaigns_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, project, state, _ = saved_and_project(tmp_path)
    with pytest.raises(
        StateError,
        match=r"campaigns not in the plan: edited; campaigns in the "
        r"plan but no longer planned: gone",
    ):
        check_fresh(saved, build_plan(project, state, targets=["new", "same", "edited"]))


def test_a_status_change_with_the_same_fingerprint_makes_the_plan_stale(tmp_path: Path) -> None:
    saved, project, state, targets = saved_and_project(tmp_path)
    # Someone recorded "new" without a state write we can see in the serial (e.g. a restored
    # backup): the serial check would miss it, the status check must not.
    campaign = project.campaign("new")
    assert campaign is not None
    now = dataclasses.replace(state, campaigns={**state.campaigns, "new": entry_for(campaign)})
    with pytest.raises(StateError, match="campaign new is now unchanged, the plan showed create"):
        check_fresh(saved, build_plan(project, now, targets=targets))


def test_a_plan_made_before_the_first_state_write_is_stale_after_it(tmp_path: Path) -> None:
    project, state = all_statuses()
    path = tmp_path / "plan.json"
    write_saved_plan(build_plan(project, State(), targets=["new"]), path)
    with pytest.raises(
        StateError,
        match=r"^stale plan: the state lineage is 'lineage-1', the "
        r"plan was made for none \(no state yet\)",
    ):
        check_fresh(read_saved_plan(path), build_plan(project, state, targets=["new"]))
