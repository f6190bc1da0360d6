"""`dialogops sandbox serve`: run the built-in Dialog API imitation until Ctrl-C.

Loaded only when `serve` runs or shows its help: the server brings http.server and sqlite3.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import cast

import click

from dialogops.cli.options import Seconds
from dialogops.durable import write_atomic
from dialogops.errors import UsageError
from dialogops.masking import ScrubFilter
from dialogops.sandbox import (
    SANDBOX_LOGIN,
    SANDBOX_PASSWORD,
    Faults,
    SandboxServer,
    sandbox_db_path,
)
from dialogops.sandbox.faults import DropPoint
from dialogops.sandbox.server import DEFAULT_TIMEZONE


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port; 0 picks a free one.",
)
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQLite file of created campaigns (default: .dialogops/sandbox.db).",
)
@click.option(
    "--timezone",
    default=DEFAULT_TIMEZONE,
    show_default=True,
    help="The platform's wall clock, for report timestamps.",
)
@click.option(
    "--latency",
    type=Seconds(),
    default=0.0,
    help="Seconds to wait before handling each create.",
)
@click.option(
    "--fail-status",
    type=click.IntRange(400, 599),
    help="Answer the next --fail-count creates with this status.",
)
@click.option("--fail-count", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--retry-after",
    type=Seconds(),
    help="Send Retry-After (seconds) with a --fail-status of 429 or 503.",
)
@click.option(
    "--fail-after-store",
    is_flag=True,
    help="Store each --fail-status create first, then answer with the status.",
)
@click.option(
    "--timeout-after-store",
    type=Seconds(),
    default=0.0,
    help="Store each create, then wait this long before answering.",
)
@click.option(
    "--drop",
    type=click.Choice(["before_store", "after_store"]),
    help="Close the connection of the next --drop-count creates without answering.",
)
@click.option("--drop-count", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--malformed-count",
    type=click.IntRange(min=0),
    default=0,
    help="Store the next N creates, then answer 200 without campaign.id.",
)
@click.option(
    "--answer-id",
    metavar="JSON",
    help="Store the next --answer-id-count creates, then answer this JSON value as "
    "campaign.id (e.g. -5, '\"12\"').",
)
@click.option("--answer-id-count", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--report-status",
    type=click.IntRange(400, 599),
    help="Answer every report request with this status.",
)
@click.option(
    "--gzip-bomb-count",
    type=click.IntRange(min=0),
    default=0,
    help="Store the next N creates, then answer each with gzip inflating to 1 GiB.",
)
@click.option(
    "--trickle",
    type=click.IntRange(min=0),
    default=0,
    metavar="BYTES_PER_SECOND",
    help="Send create and report answers this many bytes a second (0: at once).",
)
@click.option(
    "--login-form-status",
    type=click.Choice(["415", "422"]),
    help="Answer the OAuth2 login form with this status (the JSON login still works).",
)
@click.option(
    "--token-lifetime",
    type=click.IntRange(min=1),
    metavar="N",
    help="Each token serves N authorised requests, then gets 401 'token expired'; "
    "every login issues a new one.",
)
@click.option(
    "--report-rows",
    type=click.IntRange(min=0),
    metavar="N",
    help="Answer every report with N synthetic rows, streamed (for benchmarks).",
)
@click.option(
    "--ready-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Once the port accepts connections, write the API URL to this file (atomically); "
    "it is removed on stop.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request.")
def serve(
    host: str,
    port: int,
    db: Path | None,
    timezone: str,
    latency: float,
    fail_status: int | None,
    fail_count: int,
    retry_after: float | None,
    fail_after_store: bool,
    timeout_after_store: float,
    drop: str | None,
    drop_count: int,
    malformed_count: int,
    answer_id: str | None,
    answer_id_count: int,
    report_status: int | None,
    gzip_bomb_count: int,
    trickle: int,
    login_form_status: str | None,
    token_lifetime: int | None,
    report_rows: int | None,
    ready_file: Path | None,
    verbose: bool,
) -> None:
    """Serve the sandbox API on loopback until Ctrl-C or SIGTERM."""
    if retry_after is not None and fail_status not in (429, 503):
        raise UsageError("--retry-after needs --fail-status 429 or 503")
    if fail_after_store and fail_status is None:
        raise UsageError("--fail-after-store needs --fail-status")
    try:
        answered_id = json.loads(answer_id) if answer_id is not None else None
    except ValueError:
        raise UsageError(f"--answer-id {answer_id!r} is not a JSON value") from None
    faults = Faults(
        latency=latency,
        status=fail_status,
        status_count=fail_count if fail_status is not None else 0,
        retry_after=retry_after,
        status_after_store=fail_after_store,
        timeout_after_store=timeout_after_store,
        drop=cast("DropPoint | None", drop),  # click.Choice allows only DropPoint values
        drop_count=drop_count if drop else 0,
        malformed_count=malformed_count,
        answer_id=answered_id,
        answer_id_count=answer_id_count if answered_id is not None else 0,
        report_status=report_status,
        gzip_bomb_count=gzip_bomb_count,
        trickle_bytes_per_second=trickle,
        login_form_status=int(login_form_status) if login_form_status else None,
        token_lifetime=token_lifetime,
        report_rows=report_rows,
    )
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(ScrubFilter())  # request lines quote what clients sent
    server = SandboxServer(
        db or sandbox_db_path(Path.cwd()),
        host=host,
        port=port,
        faults=faults,
        timezone=timezone,
        record_requests=False,
    )
    stop = threading.Event()

    # CI stops a background service with SIGTERM, a person with Ctrl-C: both end it cleanly.
    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    server.start()  # listening from here on: connections wait in the backlog until served
    try:
        if ready_file is not None:
            write_atomic(ready_file, server.url + "\n")
        click.echo(f"Dialog API sandbox listening on {server.url}")
        click.echo(f"  token:    {server.token}")
        click.echo(f"  login:    {SANDBOX_LOGIN} / {SANDBOX_PASSWORD}")
        click.echo(f"  database: {server.db_path}")
        click.echo(f"Use it with: DIALOG_API_URL={server.url} DIALOG_TOKEN={server.token}")
        click.echo("Press Ctrl-C to stop.")
        stop.wait()
        click.echo("stopped", err=True)
    finally:
        server.stop()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
        for signum, previous_handler in previous.items():
            signal.signal(signum, previous_handler)
