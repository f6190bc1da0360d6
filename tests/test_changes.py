"""changes: the summary state keeps of what a campaign sent, and the fields that differ."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import msgspec
import pytest

from dialogops.changes import FieldChange, field_changes, sent_summary
from dialogops.errors import Location, RenderError
from dialogops.specs import Campaign, CsvSource, Exclude, PhonesSpec
from dialogops.state import SentSchedule
from tests.sample_plans import entry_for, make_campaign


def with_files(root: Path, phones: str = "phone\n+79991234567\n") -> Path:
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "nps.csv").write_text(phones, encoding="utf-8")
    (root / "data" / "stop.txt").write_text("+79990000000\n", encoding="utf-8")
    return root


def csv_campaign(root: Path) -> Campaign:
    where = Location("campaigns/nps.yaml", 14, 13)
    phones = PhonesSpec(
        CsvSource(root / "data" / "nps.csv", where),
        exclude=(Exclude(root / "data" / "stop.txt", where),),
    )
    return dataclasses.replace(make_campaign("nps"), phones=phones, revision=3)


def digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_summary_holds_the_request_fields_templates_and_file_digests(tmp_path: Path) -> None:
    root = with_files(tmp_path)
    campaign = dataclasses.replace(csv_campaign(root), add_data={"name": "{{ row.name }}", "n": 1})
    sent = sent_summary(campaign, root)
    assert (sent.revision, sent.title, sent.project_id, sent.start_block_id, sent.phone_id) == (
        3,
        "Обзвон nps",
        1,
        10,
        5,
    )
    assert sent.schedule == SentSchedule("2099-12-01", "09:00", "17:00", 3, 5)
    assert sent.add_data == {"name": "{{ row.name }}", "n": 1}
    assert sent.data_files == {
        "data/nps.csv": digest(root / "data" / "nps.csv"),
        "data/stop.txt": digest(root / "data" / "stop.txt"),
    }
    # Nothing a row holds: no phone number, no rendered value.
    assert "7999" not in msgspec.json.encode(sent).decode()


def test_a_data_file_edited_since_is_a_changed_digest(tmp_path: Path) -> None:
    root = with_files(tmp_path)
    campaign = csv_campaign(root)
    entry = entry_for(make_campaign("nps"), sent=sent_summary(campaign, root))
    before = digest(root / "data" / "nps.csv")
    with_files(root, "phone\n+79991234568\n")
    changes = field_changes(entry, sent_summary(campaign, root), 4)
    assert changes == (
        FieldChange("data_files.data/nps.csv", before, digest(root / "data" / "nps.csv")),
    )


def test_a_literal_that_changes_type_is_a_change() -> None:
    campaign = make_campaign("c", add_data={"flag": True})
    entry = entry_for(campaign, sent=sent_summary(campaign, Path("/p")))
    now = sent_summary(make_campaign("c", add_data={"flag": 1}), Path("/p"))
    assert field_changes(entry, now, 4) == (FieldChange("add_data.flag", True, 1),)


def test_nothing_to_compare_without_a_recorded_summary() -> None:
    campaign = make_campaign("c")
    assert field_changes(entry_for(campaign), sent_summary(campaign, Path("/p")), 4) is None


def test_a_data_file_swapped_for_a_fifo_since_rendering_is_refused_not_waited_on(
    tmp_path: Path,
) -> None:
    root = with_files(tmp_path)
    (root / "data" / "stop.txt").unlink()
    os.mkfifo(root / "data" / "stop.txt")  # a blocking open would wait for a writer
    with pytest.raises(RenderError) as info:
        sent_summary(csv_campaign(root), root)
    [problem] = info.value.problems
    assert problem.message == (
        f"cannot read {root / 'data' / 'stop.txt'}: a named pipe (FIFO), not a regular file"
    )
