"""Filling the ledger from the manifests of campaigns in state, for a project that starts
using it late (`ledger rebuild`) or a campaign recorded by `import`.

A campaign's recipients are known only while its manifest and data files still render to
the fingerprint state recorded for it: otherwise it is skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dialogops.ledger.keys import LedgerKey
from dialogops.ledger.store import Ledger
from dialogops.render import render_campaign
from dialogops.specs import Campaign, Project
from dialogops.state import State


@dataclass(frozen=True)
class Rebuilt:
    added: tuple[tuple[str, int], ...] = ()  # (campaign name, recipients)
    skipped: tuple[tuple[str, str], ...] = ()  # (campaign name, why)


def rebuild(
    ledger: Ledger,
    key: LedgerKey,
    project: Project,
    state: State,
    vars: Mapping[str, str],
    names: tuple[str, ...] = (),
) -> Rebuilt:
    """Record every created campaign in state (or those of `names`) the ledger lacks."""
    known = {c.campaign_id for c in ledger.campaigns() if c.campaign_id is not None}
    added: list[tuple[str, int]] = []
    skipped: list[tuple[str, str]] = []
    for name, entry in sorted(state.campaigns.items()):
        if (names and name not in names) or entry.id in known:
            continue
        campaign = project.campaign(name)
        if entry.status != "created" or entry.id is None:
            skipped.append((name, f"its outcome is {entry.status}"))
            continue
        if campaign is None:
            skipped.append((name, "it has no manifest"))
            continue
        fingerprint, hashes = _recipients(campaign, vars, key)
        if fingerprint != entry.fingerprint:
            skipped.append((name, "its manifest or data files changed since it was created"))
            continue
        ledger.record(name, campaign.schedule.date, entry.fingerprint, hashes, entry.id)
        added.append((name, len(set(hashes))))
    return Rebuilt(tuple(added), tuple(skipped))


def _recipients(
    campaign: Campaign, vars: Mapping[str, str], key: LedgerKey
) -> tuple[str, list[bytes]]:
    """The fingerprint of `campaign` as it renders now, and the hashes of its recipients."""
    hashes: list[bytes] = []

    def collect(e164: str, _position: int) -> bool:
        hashes.append(key.hash(e164))
        return True

    return render_campaign(campaign, vars, collect).fingerprint, hashes
