"""The text, JSON and Markdown views of a plan: content, masking and the size limit."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import msgspec

from dialogops.changes import sent_summary
from dialogops.hints import Hints
from dialogops.planner import Plan, build_plan
from dialogops.state import State
from dialogops.views import plan as view
from tests.sample_plans import (
    PHONES,
    all_statuses,
    entry_for,
    make_campaign,
    make_project,
    make_state,
)


def assert_no_raw_phones(output: str) -> None:
    for phone in PHONES:
        assert phone not in output
        assert phone[1:] not in output


def plan_of_all_statuses() -> Plan:
    project, state = all_statuses()
    return build_plan(project, state)


def test_text_shows_each_campaign_with_masked_phones_and_the_summary() -> None:
    campaign = make_campaign(
        "nps", [*PHONES, PHONES[0]], add_data={"name": "{{ row.phone }}", "kind": "survey"}
    )
    output = view.text(build_plan(make_project(campaign), State()))
    assert output.splitlines() == [
        "+ nps  create  4 phones",
        "    title: Обзвон nps",
        "    schedule: 2099-12-01 09:00-17:00, 3 attempts, interval 5 min",
        "    add_data: name, kind",
        "    rows: 5; dropped: 1 duplicate, 0 excluded, 0 skipped",
        "    phones: +7999***4567, +7999***4568, +7999***4569, ...",
        "",
        "Plan: 1 to create, 0 unchanged, 0 changed, 0 unknown, 0 orphaned; "
        "4 phones would be called.",
    ]


def test_text_marks_every_status_and_says_how_to_resolve() -> None:
    output = view.text(plan_of_all_statuses())
    headlines = [line for line in output.splitlines() if line and not line.startswith(" ")]
    assert headlines[:6] == [
        "! edited  changed  4 phones (state: id 100, 4 phones)",
        "- gone  orphaned  (state: id 5, 4 phones)",
        "? lost  unknown  4 phones (state: status unknown, 4 phones)",
        "+ new  create  4 phones",
        "? pending  unknown  4 phones (state: status pending, 4 phones)",
        "= same  unchanged  4 phones",
    ]
    assert (
        "    changes: details not recorded (its state entry is older than this dialogops)\n"
        "    the API cannot update a campaign: revert the change, or raise metadata.revision "
        "to 2 in campaigns/edited.yaml to create a new campaign\n" in output
    )
    assert "then run dialogops import lost ID or dialogops state rm lost" in output
    assert (
        "warning: in state but no manifest; apply leaves it alone; "
        "dialogops state rm gone forgets it" in output
    )
    assert_no_raw_phones(output)


def test_replace_is_shown_with_the_id_it_replaces() -> None:
    project, state = all_statuses()
    output = view.text(build_plan(project, state, replace=["edited"]))
    assert "-/+ edited  replace  4 phones (replaces: id 100, 4 phones)" in output
    assert (
        "    replaces id 100, 4 phones (date not recorded): anyone there among these 4 phones "
        "is called again (state keeps no phone numbers to count them)\n" in output
    )
    assert output.rstrip().endswith(
        "2 to create, 1 unchanged, 0 changed, 2 unknown, 1 orphaned; 8 phones would be called."
    )


def test_styled_text_colours_marks_by_status() -> None:
    styled = view.styled(plan_of_all_statuses())
    styles = {styled.plain[s.start : s.end]: str(s.style) for s in styled.spans}
    assert styles["+ new"] == "green"
    assert styles["! edited"] == "bold red"
    assert styles["- gone"] == "yellow"


def test_json_is_versioned_and_holds_only_masked_phones() -> None:
    raw = view.as_json(plan_of_all_statuses())
    doc = json.loads(raw)
    assert doc["format_version"] == 1
    assert doc["state"] == {"lineage": "lineage-1", "serial": 7}
    assert doc["options"] == {"targets": [], "replace": [], "vars": [], "environment": None}
    assert doc["summary"] == {
        "create": 1,
        "replace": 0,
        "unchanged": 1,
        "changed": 1,
        "unknown": 2,
        "orphaned": 1,
        "to_create": 1,
        "phones_to_call": 4,
        "has_changes": True,
        "blocked": True,
    }
    by_name = {c["name"]: c for c in doc["campaigns"]}
    new = by_name["new"]
    assert (new["status"], new["mark"], new["will_create"]) == ("create", "+", True)
    assert new["render"]["sample_phones"] == ["+7999***4567", "+7999***4568", "+7999***4569"]
    assert new["render"]["fingerprint"].startswith("sha256:")
    assert new["campaign"]["schedule"] == {
        "date": "2099-12-01",
        "start_time": "09:00",
        "end_time": "17:00",
        "attempts": 3,
        "interval_minutes": 5,
    }
    assert new["state"] is None
    assert by_name["edited"]["resolution"] == (
        "revert the change, or raise metadata.revision to 2 in campaigns/edited.yaml "
        "to create a new campaign"
    )
    assert by_name["edited"]["state"]["id"] == 100
    assert by_name["edited"]["changes"] == {"recorded": False, "fields": []}
    assert new["changes"] is None and new["render"]["skipped_rows"] == []
    assert by_name["gone"]["campaign"] is None and by_name["gone"]["render"] is None
    assert_no_raw_phones(raw)


def test_json_keys_keep_the_documented_order() -> None:
    doc = json.loads(view.as_json(plan_of_all_statuses()))
    by_name = {c["name"]: c for c in doc["campaigns"]}
    edited = by_name["edited"]
    assert list(doc) == [
        "format_version",
        "dialogops_version",
        "state",
        "options",
        "summary",
        "campaigns",
    ]
    assert list(doc["summary"]) == [
        "create",
        "replace",
        "unchanged",
        "changed",
        "unknown",
        "orphaned",
        "to_create",
        "phones_to_call",
        "has_changes",
        "blocked",
    ]
    assert list(edited) == [
        "name",
        "status",
        "mark",
        "will_create",
        "resolution",
        "campaign",
        "render",
        "state",
        "changes",
        "local_hours",
        "ledger",
    ]
    assert list(edited["campaign"]) == [
        "source",
        "title",
        "project_id",
        "start_block_id",
        "phone_id",
        "schedule",
        "add_data_keys",
    ]
    assert list(edited["render"]) == [
        "fingerprint",
        "phones",
        "rows",
        "duplicates",
        "excluded",
        "skipped",
        "sample_phones",
        "skipped_rows",
        "excluded_by",
        "left_out",
    ]
    assert list(edited["state"]) == [
        "status",
        "id",
        "fingerprint",
        "phones",
        "created_at",
        "revision",
        "date",
    ]


def test_markdown_puts_the_summary_and_table_first_and_folds_details() -> None:
    output = view.markdown(plan_of_all_statuses())
    lines = output.splitlines()
    assert lines[0] == "### dialogops plan"
    assert lines[2] == "state serial 7"
    assert lines[4].startswith("**Plan: 1 to create, 1 unchanged, 1 changed, 2 unknown")
    table = [line for line in lines if line.startswith("| `")]
    assert len(table) == 6
    assert (
        "| `!` | `edited` | **changed**: revert the change, or raise metadata.revision to 2 in "
        "campaigns/edited.yaml to create a new campaign | 4 |" in output
    )
    assert (
        "| `?` | `lost` | **unknown**: `dialogops import lost ID or dialogops state rm lost` |"
        in (output)
    )
    assert output.index("| `+` | `new`") < output.index("<details>")
    assert output.count("<details>") == output.count("</details>") == 5  # unchanged folded out
    assert "+7999\\*\\*\\*4567" in output
    assert_no_raw_phones(output)


def plan_with_orphans(count: int) -> Plan:
    """One campaign to create, and `count` orphaned entries left by years of campaigns."""
    project, _ = all_statuses()
    new = project.campaigns[0]
    gone = [entry_for(make_campaign(f"old-{i:03d}"), id=i + 1) for i in range(count)]
    return build_plan(make_project(new), make_state(*gone))


def test_text_lists_ten_orphans_then_counts_the_rest_and_names_the_flag() -> None:
    output = view.text(plan_with_orphans(25))
    orphans = [line for line in output.splitlines() if line.startswith("- old-")]
    assert [line.split()[1] for line in orphans] == [f"old-{i:03d}" for i in range(10)]
    assert (
        "- ... and 15 more orphaned campaigns: in state but no manifest; apply leaves them "
        "alone; dialogops plan -v lists them\n" in output
    )
    assert "25 orphaned" in output


def test_verbose_text_and_json_list_every_orphan() -> None:
    plan = plan_with_orphans(25)
    verbose = view.text(plan, verbose=True)
    assert len([line for line in verbose.splitlines() if line.startswith("- old-")]) == 25
    assert "more orphaned" not in verbose
    assert json.loads(view.as_json(plan))["summary"]["orphaned"] == 25
    assert len(json.loads(view.as_json(plan))["campaigns"]) == 26
    assert "more orphaned" not in view.text(plan_with_orphans(10))


def test_markdown_lists_ten_orphans_and_one_row_for_the_rest() -> None:
    output = view.markdown(plan_with_orphans(25))
    rows = [line for line in output.splitlines() if line.startswith("| `-` | `old-")]
    assert len(rows) == 10
    assert (
        "| | ... and 15 more orphaned campaigns: in state but no manifest; apply leaves them "
        "alone; `dialogops plan -v` lists them | | | | | | |" in output
    )
    assert output.count("<details>") == 11  # the campaign to create, and the listed orphans


def test_one_orphan_over_the_ten_is_named_in_the_singular() -> None:
    assert (
        "- ... and 1 more orphaned campaign: in state but no manifest; apply leaves it alone; "
        "dialogops plan -v lists it\n" in view.text(plan_with_orphans(11))
    )


def test_a_state_path_with_a_bar_keeps_the_markdown_row_whole() -> None:
    plan = dataclasses.replace(plan_with_orphans(12), hints=Hints(state="a|b.json"))
    [row] = [line for line in view.markdown(plan).splitlines() if "more orphaned" in line]
    assert row.endswith("`dialogops plan -v --state a\\|b.json` lists them | | | | | | |")
    assert row.replace("\\|", "").count("|") == 9  # the table's 8 cells


def test_markdown_escapes_user_text() -> None:
    campaign = make_campaign("odd", title="a | b <script>", add_data={"*key*": "x"})
    output = view.markdown(build_plan(make_project(campaign), State()))
    assert "title: a \\| b &lt;script&gt;" in output
    assert "- add_data: \\*key\\*\n" in output
    assert "<script>" not in output


def test_a_200_campaign_markdown_plan_is_cut_in_the_middle_under_the_limit() -> None:
    campaigns = [make_campaign(f"campaign-{i:03d}", title="T" * 300) for i in range(200)]
    plan = build_plan(make_project(*campaigns), State())
    output = view.markdown(plan)
    assert len(output) <= view.MARKDOWN_LIMIT
    assert output.count("| `+` | `campaign-") == 200  # the table is whole
    note = re.search(r"details of (\d+) campaigns left out here", output)
    assert note is not None
    kept = output.count("<details>")
    assert kept + int(note.group(1)) == 200
    assert "<summary>+ campaign-000:" in output and "<summary>+ campaign-199:" in output
    assert (
        output.index("<summary>+ campaign-000:")
        < note.start()
        < output.index("<summary>+ campaign-199:")
    )


def test_when_even_the_table_is_too_long_rows_are_cut_from_the_middle() -> None:
    plan = build_plan(make_project(*(make_campaign(f"c-{i:03d}") for i in range(100))), State())
    output = view.markdown(plan, limit=5_000)
    assert len(output) <= 5_000
    left_out = re.search(r"\*(\d+) campaigns left out of this table\*", output)
    assert left_out is not None
    assert output.count("| `+` | `c-") + int(left_out.group(1)) == 100
    assert "| `c-000` |" in output and "| `c-099` |" in output
    assert "<details>" not in output
    assert "details of all 100 campaigns left out here to keep this comment under 5,000" in output


def test_an_empty_plan_says_so() -> None:
    plan = build_plan(make_project(), State())
    assert view.text(plan) == (
        "Plan: 0 to create, 0 unchanged, 0 changed, 0 unknown, 0 orphaned; "
        "0 phones would be called.\n"
    )
    assert view.markdown(plan).endswith("No campaigns.\n")
    assert json.loads(view.as_json(plan))["campaigns"] == []


def test_changed_fields_show_old_to_new_with_digests_cut_short() -> None:
    created = make_campaign("c", add_data={"vip": True, "note": ""})
    entry = entry_for(created, sent=sent_summary(created, Path("/p"), {}))
    assert entry.sent is not None
    recorded = msgspec.structs.replace(
        entry,
        sent=msgspec.structs.replace(entry.sent, data_files={"data/c.csv": "sha256:" + "a" * 64}),
    )
    later = make_campaign("c", add_data={"vip": False, "note": "x", "new": "{{ row.phone }}"})
    output = view.text(build_plan(make_project(later), make_state(recorded)))
    assert (
        "    changes (old -> new):\n"
        "      add_data.vip: true -> false\n"
        '      add_data.note: "" -> x\n'
        "      add_data.new: (none) -> {{ row.phone }}\n"
        "      data_files.data/c.csv: sha256:aaaaaaaaaaaa… -> (none)\n" in output
    )


def test_a_plan_for_an_environment_names_it_first() -> None:
    project, state = all_statuses()
    config = dataclasses.replace(project.config, environment="prod")
    plan = build_plan(dataclasses.replace(project, config=config), state, targets=["same"])
    assert view.text(plan).startswith("Environment: prod\n\n= same  unchanged")
    assert view.markdown(plan, commit="c" * 40).startswith(
        f"### dialogops plan\n\nenvironment **prod** · state serial 7 · commit {'c' * 40}\n\n"
    )
