"""What a campaign's create request is made of, without anything personal (`Sent`, kept in
its state entry), and how a manifest differs from it field by field: `old -> new` in plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dialogops.specs import Campaign
from dialogops.state import Sent, SentSchedule, StateEntry, TemplateSource


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: `schedule.start_time`, `add_data.name`, `data_files.data/x.csv`.

    None stands for a field that is not there (an add_data key added or removed).
    """

    field: str
    old: TemplateSource | None
    new: TemplateSource | None


def sent_summary(campaign: Campaign, root: Path, data_files: Mapping[Path, str]) -> Sent:
    """The summary state keeps of what `campaign` sends; `data_files` are the digests its
    render took of its data files (`RenderedCampaign.data_files`)."""
    schedule = campaign.schedule
    return Sent(
        revision=campaign.revision,
        title=campaign.title,
        description=campaign.description,
        project_id=campaign.project_id,
        start_block_id=campaign.start_block_id,
        phone_id=campaign.phone_id,
        schedule=SentSchedule(
            date=schedule.date.isoformat(),
            start_time=f"{schedule.start_time:%H:%M}",
            end_time=f"{schedule.end_time:%H:%M}",
            attempts=schedule.attempts,
            interval_minutes=schedule.interval_minutes,
        ),
        add_data=dict(campaign.add_data),
        # Data files were checked to lie inside the project root.
        data_files={path.relative_to(root).as_posix(): d for path, d in data_files.items()},
    )


def field_changes(entry: StateEntry, now: Sent, phones: int) -> tuple[FieldChange, ...] | None:
    """Every field of `now` (with `phones` to call) that differs from what `entry` recorded.

    None when the entry records no summary (written by an older dialogops).
    """
    if entry.sent is None:
        return None
    before, after = _fields(entry.sent, entry.phones), _fields(now, phones)
    # Grouped as `_fields` orders them; in add_data and data_files, recorded keys come first.
    names = sorted(dict.fromkeys([*before, *after]), key=_group)
    changes = []
    for name in names:
        old, new = before.get(name), after.get(name)
        # The types too: a literal `true` that became `1` is a change, though True == 1.
        if (type(old), old) != (type(new), new):
            changes.append(FieldChange(name, old, new))
    return tuple(changes)


def _group(name: str) -> int:
    """Where a field sorts: the request's fields, add_data, phones, then data files."""
    head = name.partition(".")[0]
    return {"add_data": 1, "phones": 2, "data_files": 3}.get(head, 0)


def _fields(sent: Sent, phones: int) -> dict[str, TemplateSource]:
    """The summary flattened to dotted field names, in the order plan shows them."""
    schedule = sent.schedule
    fields: dict[str, TemplateSource] = {
        "revision": sent.revision,
        "title": sent.title,
        "description": sent.description,
        "project_id": sent.project_id,
        "start_block_id": sent.start_block_id,
        "phone_id": sent.phone_id,
        "schedule.date": schedule.date,
        "schedule.start_time": schedule.start_time,
        "schedule.end_time": schedule.end_time,
        "schedule.attempts": schedule.attempts,
        "schedule.interval_minutes": schedule.interval_minutes,
    }
    fields.update(_prefixed("add_data", sent.add_data))
    fields["phones"] = phones
    fields.update(_prefixed("data_files", sent.data_files))
    return fields


def _prefixed(prefix: str, values: Mapping[str, TemplateSource]) -> dict[str, TemplateSource]:
    return {f"{prefix}.{key}": value for key, value in values.items()}
