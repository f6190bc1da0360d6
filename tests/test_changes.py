"""changes: the summary state keeps of what a campaign sent, and the fields that differ."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import msgspec

from dialogops.changes import FieldChange, field_changes, sent_summary
from dialogops.errors import Location
from dialogops.render import render_campaign
from dialogops.specs import Campaign, CsvSource, Exclude, PhonesSpec
from dialogops.state import Sent, SentSchedule
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


def summary(campaign: Campaign, root: Path) -> Sent:
    """The summary plan records, with the digests its render took as it read the files."""
    return sent_summary(campaign, root, render_campaign(campaign, {}).data_files)


def digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_summary_holds_the_request_fields_templates_and_file_digests(tmp_path: Path) -> None:
    root = with_files(tmp_path)
    campaign = dataclasses.replace(csv_campaign(root), add_data={"name": "{{ row.phone }}", "n": 1})
    sent = summary(campaign, root)
    assert (sent.revision, sent.title, sent.project_id, sent.start_block_id, sent.phone_id) == (
        3,
        "Обзвон nps",
        1,
        10,
        5,
    )
    assert sent.schedule == SentSchedule("2099-12-01", "09:00", "17:00", 3, 5)
    assert sent.add_data == {"name": "{{ row.phone }}", "n": 1}
    assert sent.data_files == {
        "data/nps.csv": digest(root / "data" / "nps.csv"),
        "data/stop.txt": digest(root / "data" / "stop.txt"),
    }
    # Nothing a row holds: no phone number, no rendered value.
    assert "7999" not in msgspec.json.encode(sent).decode()


def test_a_data_file_edited_since_is_a_changed_digest(tmp_path: Path) -> None:
    root = with_files(tmp_path)
    campaign = csv_campaign(root)
    entry = entry_for(make_campaign("nps"), sent=summary(campaign, root))
    before = digest(root / "data" / "nps.csv")
    with_files(root, "phone\n+79991234568\n")
    changes = field_changes(entry, summary(campaign, root), 4)
    assert changes == (
        FieldChange("data_files.data/nps.csv", before, digest(root / "data" / "nps.csv")),
    )


def test_a_literal_that_changes_type_is_a_change() -> None:
    campaign = make_campaign("c", add_data={"flag": True})
    entry = entry_for(campaign, sent=sent_summary(campaign, Path("/p"), {}))
    now = sent_summary(make_campaign("c", add_data={"flag": 1}), Path("/p"), {})
    assert field_changes(entry, now, 4) == (FieldChange("add_data.flag", True, 1),)


def test_nothing_to_compare_without_a_recorded_summary() -> None:
    campaign = make_campaign("c")
    assert field_changes(entry_for(campaign), sent_summary(campaign, Path("/p"), {}), 4) is None


def test_the_digests_are_of_the_files_bytes_though_read_once_as_text(tmp_path: Path) -> None:
    # Far more than one read's worth, and a delimiter to detect: the reader rewinds after
    # sniffing, and each byte must still be hashed once.
    rows = "".join(f"+7999{i:07d};Имя {i}\n" for i in range(20_000))
    root = with_files(tmp_path, "\ufeffphone;name\n" + rows)
    sent = summary(csv_campaign(root), root)
    assert sent.data_files == {
        "data/nps.csv": digest(root / "data" / "nps.csv"),
        "data/stop.txt": digest(root / "data" / "stop.txt"),
    }
