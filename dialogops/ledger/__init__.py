"""The contact ledger: who each campaign contacted, by keyed hash, never by number.

keys.py     the key (`DIALOG_LEDGER_KEY`) and the keyed hash of an E.164 number
records.py  the campaigns the ledger knows, monthly figures, the periods caps count in
sql.py      the tables and queries, written once for both stores
store.py    `Ledger`: recording, confirming, discarding, reconciling with state, stats
sqlite.py   the local backend's store: a SQLite file beside the state file
keyset.py   hashes held compactly for counting
judge.py    frequency caps and `only_new` for the campaigns a plan would create
"""
