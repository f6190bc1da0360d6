"""The ledger's SQL, written once for both stores in the named `:param` style.

PostgreSQL's driver takes `%(param)s`: `for_psycopg` converts. A campaign's recipients are
kept as its hashes, sorted, in runs of `CHUNK` (16 bytes each), keyed by (day, campaign,
run) with each run's first and last hash: the frequency caps read one range of days in a
few rows, recording a million recipients writes 245, and finding one hash reads only the
run of each campaign that can hold it.
"""

from __future__ import annotations

import re

CREATE_TABLES = (
    """CREATE TABLE IF NOT EXISTS ledger_campaigns (
        ref {serial} PRIMARY KEY,
        workspace TEXT NOT NULL,
        name TEXT NOT NULL,
        campaign_id BIGINT,
        day INTEGER NOT NULL,
        month INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        recipients BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ledger_campaigns_day ON ledger_campaigns (workspace, day)",
    """CREATE TABLE IF NOT EXISTS ledger_recipients (
        workspace TEXT NOT NULL,
        day INTEGER NOT NULL,
        ref BIGINT NOT NULL,
        chunk INTEGER NOT NULL,
        low_hash {blob} NOT NULL,
        high_hash {blob} NOT NULL,
        hashes {blob} NOT NULL,
        PRIMARY KEY (workspace, day, ref, chunk)){without_rowid}""",
    # The recipients a campaign's manifest lists but the ledger left out of it (frequency
    # caps, only_new), so that a later plan renders it as created and finds it unchanged.
    """CREATE TABLE IF NOT EXISTS ledger_left_out (
        ref BIGINT NOT NULL,
        chunk INTEGER NOT NULL,
        hashes {blob} NOT NULL,
        PRIMARY KEY (ref, chunk)){without_rowid}""",
)

INSERT_CAMPAIGN = """INSERT INTO ledger_campaigns
    (workspace, name, campaign_id, day, month, fingerprint, recipients)
    VALUES (:workspace, :name, :campaign_id, :day, :month, :fingerprint, :recipients)
    RETURNING ref"""
CONFIRM = "UPDATE ledger_campaigns SET campaign_id = :campaign_id WHERE ref = :ref"
DELETE_CAMPAIGN = "DELETE FROM ledger_campaigns WHERE ref = :ref"
INSERT_CHUNK = """INSERT INTO ledger_recipients
    (workspace, day, ref, chunk, low_hash, high_hash, hashes)
    VALUES (:workspace, :day, :ref, :chunk, :low_hash, :high_hash, :hashes)"""
DELETE_CONTACTS_OF = """DELETE FROM ledger_recipients
    WHERE workspace = :workspace AND day = :day AND ref = :ref"""
INSERT_LEFT_OUT = """INSERT INTO ledger_left_out (ref, chunk, hashes)
    VALUES (:ref, :chunk, :hashes)"""
LEFT_OUT_OF = "SELECT hashes FROM ledger_left_out WHERE ref = :ref ORDER BY chunk"
DELETE_LEFT_OUT_OF = "DELETE FROM ledger_left_out WHERE ref = :ref"
CAMPAIGNS = """SELECT ref, name, campaign_id, day, fingerprint, recipients
    FROM ledger_campaigns WHERE workspace = :workspace ORDER BY day, name, ref"""
# The runs that can hold one hash: one at most per campaign.
CHUNKS_WITH = """SELECT ref, hashes FROM ledger_recipients
    WHERE workspace = :workspace AND low_hash <= :hash AND high_hash >= :hash"""
PRUNE_CONTACTS = "DELETE FROM ledger_recipients WHERE workspace = :workspace AND day < :day"
PRUNE_LEFT_OUT = """DELETE FROM ledger_left_out WHERE ref IN
    (SELECT ref FROM ledger_campaigns WHERE workspace = :workspace AND day < :day)"""
PRUNE_CAMPAIGNS = "DELETE FROM ledger_campaigns WHERE workspace = :workspace AND day < :day"
MONTHS = """SELECT month, MIN(day), MAX(day), COUNT(*), SUM(recipients)
    FROM ledger_campaigns WHERE workspace = :workspace GROUP BY month ORDER BY month"""
# The recipients of the campaigns dated from day `first` to `last`.
WINDOW = """SELECT day, hashes FROM ledger_recipients
    WHERE workspace = :workspace AND day BETWEEN :first AND :last"""
# One campaign's recipients, in order.
CONTACTS_OF = """SELECT hashes FROM ledger_recipients
    WHERE workspace = :workspace AND day = :day AND ref = :ref ORDER BY chunk"""
CAMPAIGN_WITH_ID = """SELECT ref, name, campaign_id, day, fingerprint, recipients
    FROM ledger_campaigns WHERE workspace = :workspace AND campaign_id = :campaign_id
    ORDER BY ref"""

_NAMED = re.compile(r":([a-z_]+)")


def for_psycopg(query: str) -> str:
    """`query` in psycopg's `%(name)s` parameter style."""
    return _NAMED.sub(r"%(\1)s", query)
