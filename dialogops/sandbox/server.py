"""The sandbox HTTP server: the Dialog API's three endpoints on a loopback port.

Requests are checked strictly (`checks.py`), campaigns stored in SQLite (`store.py`),
reports synthesised (`results.py`) and faults injected (`faults.py`); this module only
routes, authenticates, applies faults in order and writes the JSON answers.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogops.errors import UsageError
from dialogops.sandbox.checks import (
    Invalid,
    check_create,
    check_login,
    check_login_form,
    check_report,
)
from dialogops.sandbox.faults import Faults
from dialogops.sandbox.results import build_report, gzip_bomb, synthetic_report
from dialogops.sandbox.store import CampaignStore, StoredCampaign

SANDBOX_TOKEN = "sandbox-token"
SANDBOX_LOGIN = "sandbox"
SANDBOX_PASSWORD = "sandbox-password"
DEFAULT_TIMEZONE = "Europe/Moscow"

_REPORT_PATH = re.compile(r"/api/analytics/(\d+)/report")
_MAX_BODY = 256 * 1024 * 1024  # about two million phones
_log = logging.getLogger("dialogops.sandbox")


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the sandbox saw it; the Authorization header and passwords redacted."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON, None when the body was not JSON
    digest: str = ""  # "sha256:<hex>" of the body's bytes as received


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Answer(Exception):
    """Stop handling a request and answer it with `status` and a JSON message."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class _HTTPServer(ThreadingHTTPServer):
    # Worker threads are joined on close; stop() first unblocks them by closing sockets.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_sockets(self) -> None:
        with self.sockets_lock:
            for sock in self.open_sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.debug("error while handling a request from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the client's session
    server_version = "dialogops-sandbox"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        _log.info("%s %s", self.address_string(), format % args)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            raw = self._read_body()
            form = self.headers.get_content_type() == "application/x-www-form-urlencoded"
            body = _form(raw) if form else self._parse(raw)
            self.server.sandbox._record(
                self.command, path, dict(self.headers.items()), body, _digest(raw)
            )
            if path == "/api/login":
                self._login(body, form=form)
            elif path == "/api/campaigns":
                self._create(body)
            elif match := _REPORT_PATH.fullmatch(path):
                self._report(int(match.group(1)), body)
            else:
                raise _Answer(404, f"no such endpoint: POST {path}")
        except _Answer as answer:
            self._send_json(answer.status, {"message": answer.message}, answer.headers)
        except Invalid as invalid:
            self._send_json(422, {"message": str(invalid)})

    def _not_allowed(self) -> None:
        self.server.sandbox._record(
            self.command, urlsplit(self.path).path, dict(self.headers.items()), None
        )
        self.close_connection = True  # the body, if any, was not read
        self._send_json(405, {"message": f"method {self.command} is not allowed"})

    do_GET = do_PUT = do_PATCH = do_DELETE = _not_allowed

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise _Answer(411, "a Content-Length header is required")
        if int(length) > _MAX_BODY:
            self.close_connection = True
            raise _Answer(413, f"the body is larger than {_MAX_BODY} bytes")
        return self.rfile.read(int(length))

    def _parse(self, raw: bytes) -> Any:
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.server.sandbox._record(
                self.command, urlsplit(self.path).path, dict(self.headers.items()), None
            )
            raise _Answer(400, f"the body is not valid JSON: {exc}") from None

    def _authorize(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Answer(401, "authorization required: send Authorization: Bearer <token>")
        self.server.sandbox._use_token(token.strip())

    def _login(self, body: Any, *, form: bool) -> None:
        sandbox = self.server.sandbox
        if form and sandbox.faults.login_form_status is not None:
            status = sandbox.faults.login_form_status
            raise _Answer(status, f"sandbox fault: the login form is answered {status}")
        login, password = check_login_form(body) if form else check_login(body)
        if (login, password) != (SANDBOX_LOGIN, SANDBOX_PASSWORD):
            raise _Answer(401, "wrong login or password")
        self._send_json(200, {"access_token": sandbox._issue_token(), "token_type": "bearer"})

    def _create(self, body: Any) -> None:
        sandbox = self.server.sandbox
        if sandbox.faults.latency > 0:
            sandbox._stopping.wait(sandbox.faults.latency)
        self._authorize()
        check_create(body)
        fault = sandbox.faults.take_create_fault()
        if fault.status is not None and fault.store_first:
            campaign_id = sandbox._store.add(body)
            _log.info("created campaign %d, answering %d", campaign_id, fault.status)
        if fault.status is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            phrase = _phrase(fault.status)
            raise _Answer(fault.status, f"sandbox fault: injected {fault.status} {phrase}", headers)
        if fault.drop == "before_store":
            self._drop()
            return
        campaign_id = sandbox._store.add(body)
        _log.info("created campaign %d (%r)", campaign_id, body["campaign"].get("name", ""))
        if fault.drop == "after_store":
            self._drop()
            return
        if fault.delay_after_store > 0:
            sandbox._stopping.wait(fault.delay_after_store)
        if fault.malformed:
            self._send_json(200, {"campaign": {"status": "created"}})
            return
        if fault.answer_id is not None:
            self._send_json(200, {"campaign": {"id": fault.answer_id}})
            return
        if fault.gzip_bomb:
            self._send_bytes(200, gzip_bomb(), {"Content-Encoding": "gzip"})
            return
        self._send_json(200, {"campaign": {"id": campaign_id}})

    def _report(self, project_id: int, body: Any) -> None:
        sandbox = self.server.sandbox
        self._authorize()
        status = sandbox.faults.report_status
        if status is not None:
            raise _Answer(status, f"sandbox fault: injected {status} {_phrase(status)}")
        request = check_report(body)
        campaign = sandbox._store.get(request.outgoing_campaign_id)
        if campaign is None:
            raise _Answer(404, f"campaign {request.outgoing_campaign_id} not found")
        if campaign.project_id != project_id:
            raise _Answer(
                422,
                f"analytics_filter.outgoing_campaign_id: campaign {campaign.id} belongs to "
                f"project {campaign.project_id}, not {project_id}",
            )
        if sandbox.faults.report_rows is not None:
            self._send_chunks(synthetic_report(request, campaign, sandbox.faults.report_rows))
            return
        self._send_json(200, build_report(request, campaign, sandbox.timezone))

    def _drop(self) -> None:
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers)

    def _send_bytes(
        self, status: int, data: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        rate = self.server.sandbox.faults.trickle_bytes_per_second
        try:
            self.send_response(status, _phrase(status))
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if rate > 0 and status != 401 and not self.path.endswith("/login"):
                self._trickle(data, rate)
            else:
                self.wfile.write(data)
        except OSError:
            # The client gave up (its timeout) before the answer: nothing left to tell it.
            self.close_connection = True

    def _trickle(self, data: bytes, rate: int) -> None:
        """`rate` bytes a second, so that no single read ever waits long enough to time out."""
        stopping = self.server.sandbox._stopping
        for start in range(0, len(data), rate):
            self.wfile.write(data[start : start + rate])
            self.wfile.flush()
            if stopping.wait(1.0):
                self.close_connection = True
                return

    def _send_chunks(self, chunks: Iterator[bytes]) -> None:
        """A 200 JSON answer in chunked encoding, for answers too large to hold."""
        try:
            self.send_response(200, _phrase(200))
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True


def _digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _form(raw: bytes) -> dict[str, str]:
    """An urlencoded form as a dict (a field given twice keeps its last value)."""
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise _Answer(400, "the form is not UTF-8") from None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class SandboxServer:
    """The Dialog API imitation; `start()` serves it in a background thread."""

    token: str = SANDBOX_TOKEN

    def __init__(
        self,
        db_path: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        record_requests: bool = True,
    ) -> None:
        if not is_loopback(host):
            raise UsageError(f"the sandbox listens on loopback only, not on {host!r}")
        try:
            self.timezone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {timezone!r}") from None
        self.db_path = db_path
        self.host = host
        self.faults = faults if faults is not None else Faults()
        # Tests read what was received; a long `serve` or `--sandbox` run would only grow.
        self.requests: list[ReceivedRequest] = []
        self._record_requests = record_requests
        self._requested_port = port
        self._store = CampaignStore(db_path)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._issued = 0
        self._token_uses: dict[str, int] = {}

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The API base URL, e.g. http://127.0.0.1:8765/api."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/api"

    def start(self) -> None:
        if self._httpd is not None:
            return
        self._stopping.clear()
        try:
            self._httpd = _HTTPServer((self.host, self._requested_port), self)
        except OSError as exc:
            raise UsageError(
                f"the sandbox cannot listen on {self.host}:{self._requested_port}: {exc.strerror}"
            ) from None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="dialogops-sandbox",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        thread.join()
        httpd.close_open_sockets()
        httpd.server_close()
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _issue_token(self) -> str:
        """The token a login answers: the fixed one, or with `token_lifetime` a new one."""
        if self.faults.token_lifetime is None:
            return self.token
        with self._lock:
            self._issued += 1
            token = f"{self.token}-{self._issued}"
            self._token_uses[token] = 0
        return token

    def _use_token(self, token: str) -> None:
        """Count one authorised request of `token`, or answer 401 if it is not (or no more) good."""
        with self._lock:
            if token != self.token and token not in self._token_uses:
                raise _Answer(401, "the token is invalid or expired")
            lifetime = self.faults.token_lifetime
            uses = self._token_uses.get(token, 0) + 1
            self._token_uses[token] = uses
            if lifetime is not None and uses > lifetime:
                raise _Answer(401, "token expired")

    def campaigns(self) -> list[StoredCampaign]:
        """Every campaign stored in the database, oldest first (earlier runs included)."""
        return self._store.all()

    def creates_by_name(self) -> dict[str, int]:
        """How many campaigns were stored per `campaign.name`: a duplicate shows as 2+."""
        return self._store.counts_by_name()

    def _record(
        self, method: str, path: str, headers: Mapping[str, str], body: Any, digest: str = ""
    ) -> None:
        if not self._record_requests:
            return
        seen = {
            k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in headers.items()
        }
        if isinstance(body, dict) and "password" in body:
            body = {**body, "password": "<redacted>"}
        with self._lock:
            self.requests.append(ReceivedRequest(method, path, seen, body, digest))
