"""What apply writes to the ledger around each create.

Before the create is sent its recipients are recorded (a create of unknown outcome counts
as contacted); the platform's ID is added once it answers; a campaign it refused is
removed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from dialogops.ledger.judge import LedgerFindings
from dialogops.ledger.keys import LedgerKey
from dialogops.ledger.records import LedgerCampaign
from dialogops.ledger.store import Ledger
from dialogops.render import Keep
from dialogops.specs import Campaign


class Recorder:
    """The ledger and its key, as apply's workers use them."""

    def __init__(self, ledger: Ledger, key: LedgerKey) -> None:
        self.ledger = ledger
        self.key = key

    def keep(self, findings: LedgerFindings | None) -> Keep | None:
        """The row filter that leaves out what the plan left out, or None to keep all."""
        if findings is None or not findings.dropped:
            return None
        dropped, hash = findings.dropped, self.key.hash
        return lambda e164, _position: hash(e164) not in dropped

    def sending(
        self,
        campaign: Campaign,
        fingerprint: str,
        body: Mapping[str, Any],
        findings: LedgerFindings | None,
    ) -> LedgerCampaign:
        """Record the recipients of `body`, about to be sent, and those left out of it."""
        hashes = (self.key.hash(phone["phone"]) for phone in body["phones"])
        left_out = () if findings is None else findings.dropped
        date = campaign.schedule.date
        return self.ledger.record(campaign.name, date, fingerprint, hashes, left_out=left_out)

    def created(self, recorded: LedgerCampaign, campaign_id: int) -> None:
        self.ledger.confirm(recorded, campaign_id)

    def refused(self, recorded: LedgerCampaign) -> None:
        self.ledger.discard(recorded)

    def together(self) -> AbstractContextManager[object]:
        """The block in which a ledger write and the state write it goes with are made: one
        transaction when the ledger is in the state's database."""
        return self.ledger.db.together()
