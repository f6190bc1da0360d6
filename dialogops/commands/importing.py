"""`dialogops import NAME ID`: record a campaign created outside dialogops (or of unknown
outcome, found in the Dialog UI) as created, under the state lock like apply.

Apart from the state commands because it needs what they do not: the manifests, rendering
and the contact ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from dialogops import localhours
from dialogops.changes import sent_summary
from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import ledger_store, state_backend
from dialogops.errors import UsageError
from dialogops.ledger.keys import optional_key
from dialogops.ledger.rebuild import rebuild
from dialogops.manifests import load_project
from dialogops.render import render_campaign
from dialogops.state import record_import
from dialogops.variables import resolve_vars
from dialogops.views import state as view


def import_campaign(
    files: ProjectFiles,
    name: str,
    campaign_id: int,
    *,
    vars: Mapping[str, str],
    var_files: Sequence[Path] = (),
    lock_timeout: float,
    command: str,
) -> int:
    """Record `name` as created with `campaign_id`, with its manifest's current fingerprint
    and the summary of what it sends."""
    config = files.load_config()
    project = load_project(config.manifests, config, defer_data_files=True)
    campaign = localhours.find(project.campaigns, name)
    if campaign is None:
        raise UsageError(f"no Campaign named {name!r} in the manifests")
    values = resolve_vars(config.vars, var_files, vars)
    rendered = render_campaign(campaign, values)
    sent = sent_summary(campaign, config.root, rendered.data_files)
    backend = state_backend(config, sandbox=files.sandbox)
    with backend.lock(command, lock_timeout) as lock:
        state = lock.read()
        previous = state.get(name)
        new_state, recorded = record_import(
            state,
            name,
            campaign_id,
            rendered.fingerprint,
            rendered.stats.phones,
            sent=sent,
            hints=files.hints,
        )
        lock.write(new_state)
        key = optional_key()
        if key is not None:  # a campaign whose manifest is known joins the contact ledger
            with ledger_store(config, sandbox=files.sandbox, lock=lock) as ledger:
                ledger.reconcile(new_state)
                rebuild(ledger, key, project, new_state, values, (name,))
    view.imported(recorded, previous)
    return 0
