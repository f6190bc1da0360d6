"""What apply writes to the ledger around each create.

Before the create is sent its recipients are recorded (a create of unknown outcome counts
as contacted); the platform's ID is added once it answers; a campaign it refused is
removed again.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from dialogops.hints import Hints
from dialogops.ledger.judge import LedgerCheck, LedgerFindings
from dialogops.ledger.keys import LedgerKey
from dialogops.ledger.keyset import split
from dialogops.ledger.records import LedgerCampaign
from dialogops.ledger.store import Ledger
from dialogops.specs import Campaign, Frequency


class Recorder:
    """The ledger and its key, as apply's workers use them."""

    def __init__(self, ledger: Ledger, key: LedgerKey) -> None:
        self.ledger = ledger
        self.key = key
        self._check: LedgerCheck | None = None

    def check(self, caps: Frequency, hints: Hints) -> LedgerCheck:
        """The check apply's plan renders with: it judges the recipients and keeps the
        hashes of those each campaign sends, for `sending`."""
        self._check = LedgerCheck(self.ledger, self.key, caps, hints, keep_sent=True)
        return self._check

    def sending(
        self, campaign: Campaign, fingerprint: str, findings: LedgerFindings | None
    ) -> LedgerCampaign:
        """Record the recipients of `campaign`'s body as the plan rendered it, about to be
        sent, and those left out of it."""
        sent = None if self._check is None else self._check.sent(campaign.name)
        if sent is None:
            raise ValueError(f"{campaign.name}: the plan kept no recipients to record")
        left_out = () if findings is None else findings.dropped
        date = campaign.schedule.date
        return self.ledger.record(campaign.name, date, fingerprint, split(sent), left_out=left_out)

    def created(self, recorded: LedgerCampaign, campaign_id: int) -> None:
        self.ledger.confirm(recorded, campaign_id)

    def refused(self, recorded: LedgerCampaign) -> None:
        self.ledger.discard(recorded)

    def together(self) -> AbstractContextManager[object]:
        """The block in which a ledger write and the state write it goes with are made: one
        transaction when the ledger is in the state's database."""
        return self.ledger.db.together()
