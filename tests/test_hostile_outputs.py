"""What reaches the screen from hostile manifests, data, state, lock files and servers:
no full phone number, no secret, no raw control character, in any human output."""

from __future__ import annotations

import fcntl
import json
import resource
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dialogops.sandbox import SANDBOX_TOKEN, SandboxServer
from tests.conftest import child_env, run_cli
from tests.samples import api_env, write_project

ESCAPES = '"\x1b]0;pwned\x07\x1b[2J"'  # retitles the terminal window, then clears it
SHOWN = '"\\x1b]0;pwned\\x07\\x1b[2J"'


def campaign(name: str, phones: str, add_data: str = "", **spec: str) -> str:
    extra = "".join(f"  {key}: {value}\n" for key, value in spec.items())
    return (
        textwrap.dedent(f"""\
        apiVersion: dialogops/v1
        kind: Campaign
        metadata: {{name: {name}}}
        spec:
          project_id: 1
          start_block_id: 10
          phone_id: 5
          schedule: {{date: 2099-12-01, start_time: "09:00", end_time: "17:00"}}
          phones:
            {phones}
        """)
        + extra
        + add_data
    )


def one_campaign(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Path:
    root = write_project(tmp_path / "p", [])
    (root / "campaigns" / "c.yaml").write_text(text, encoding="utf-8")
    for name, content in (files or {}).items():
        (root / "campaigns" / name).write_text(content, encoding="utf-8")
    return root


def no_full_numbers(*outputs: str) -> None:
    for output in outputs:
        assert "+7999100" not in output and "7999100000" not in output, output


# --- phone numbers in messages, one source each --------------------------------------------


def test_a_csv_without_header_is_named_by_masked_numbers(tmp_path: Path) -> None:
    root = one_campaign(
        tmp_path,
        campaign("nohead", "csv: {path: nohead.csv}"),
        {"nohead.csv": "+79991000000;Иван\n+79991000001;Пётр\n"},
    )
    validated = run_cli(["validate"], root)
    planned = run_cli(["plan"], root)
    expected = (
        "campaigns/c.yaml:10:17: spec.phones.csv.path: nohead.csv has no column 'phone' "
        "(its columns: '+7999*****00', 'Иван')"
    )
    assert validated.stdout.splitlines()[0] == expected
    assert planned.stderr == f"error: {expected}\n"
    no_full_numbers(validated.stdout, planned.stdout + planned.stderr)


def test_a_jsonl_key_list_shows_masked_numbers(tmp_path: Path) -> None:
    root = one_campaign(
        tmp_path,
        campaign("keys", 'jsonl: {path: keys.jsonl, phone_column: "+79991000003"}'),
        {"keys.jsonl": '{"+79991000002": "x"}\n'},
    )
    validated = run_cli(["validate"], root)
    assert validated.stdout.splitlines()[0].endswith(
        "keys.jsonl line 1 has no key '+7999*****03' (did you mean '+7999*****02'?)"
    )
    no_full_numbers(validated.stdout)


def test_schema_errors_of_nested_inline_lists_mask_the_number(tmp_path: Path) -> None:
    root = one_campaign(tmp_path, campaign("nested", 'inline: [["+79991000003"]]'))
    validated = run_cli(["validate"], root)
    planned = run_cli(["plan"], root)
    assert validated.stdout.splitlines()[0] == (
        "campaigns/c.yaml:10:14: spec.phones.inline[0]: ['+7999*****03'] is not of type "
        "'string', 'integer', 'object'"
    )
    no_full_numbers(validated.stdout, planned.stderr)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ row[row.phone] }}", "add_data.a: no field '+7999*****04' (available: phone)"),
        (
            "{{ vars[row.phone] }}",
            "add_data.a: vars.+7999*****04 is not set (pass --var +7999*****04=VALUE)",
        ),
    ],
)
def test_template_errors_quoting_a_number_mask_it(
    tmp_path: Path, template: str, message: str
) -> None:
    add_data = f'  add_data:\n    a: "{template}"\n'
    root = one_campaign(tmp_path, campaign("tpl", 'inline: ["+79991000004"]', add_data))
    planned = run_cli(["plan"], root)
    assert planned.returncode == 1
    assert planned.stderr == f"error: campaigns/c.yaml:10:14: {message}\n"
    no_full_numbers(planned.stdout + planned.stderr)


class QuotingServer:
    """Answers every create 422, quoting the phone it refuses, as a strict server might."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                phone = body["phones"][0]["phone"]
                answer = json.dumps(
                    {"message": f"phones[0].phone {phone!r} is not allowed\x1b[2J"}
                ).encode()
                self.send_response(422)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"


@pytest.fixture
def quoting() -> Iterator[QuotingServer]:
    server = QuotingServer()
    # A short poll: shutdown() waits for the loop to look (0.5 s by default).
    thread = threading.Thread(
        target=server.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    thread.join()


def test_a_server_message_quoting_the_body_is_masked_and_escaped(
    tmp_path: Path, quoting: QuotingServer
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    env = {"DIALOG_API_URL": quoting.url, "DIALOG_TOKEN": SANDBOX_TOKEN}
    applied = run_cli(["apply", "--auto-approve", "-v"], root, env=env)
    assert applied.returncode == 1
    assert (
        "x failed alpha: creating the campaign: HTTP 422: phones[0].phone '+7999*****00' "
        "is not allowed\\x1b[2J"
    ) in applied.stdout
    assert "\x1b" not in applied.stdout + applied.stderr
    assert "+79990000000" not in applied.stdout + applied.stderr  # -v log lines too


# --- secrets --------------------------------------------------------------------------------


def test_url_userinfo_is_masked_in_errors_and_logs(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    env = {"DIALOG_API_URL": "http://robot:pa55-w0rd@127.0.0.1:9/api", "DIALOG_TOKEN": "t0ken"}
    applied = run_cli(["apply", "--auto-approve", "-v"], root, env=env)
    assert applied.returncode == 1
    assert "cannot connect to http://***@127.0.0.1:9/api (nothing was sent)" in applied.stdout
    assert "pa55-w0rd" not in applied.stdout + applied.stderr
    assert "robot" not in applied.stdout + applied.stderr


# --- control characters from manifests, state and lock files -------------------------------


def test_a_title_with_escape_sequences_is_shown_escaped_by_plan_and_apply(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = write_project(tmp_path / "p", ["alpha"], api_url=sandbox.url)
    manifest = root / "campaigns" / "alpha.yaml"
    hostile = json.dumps("\x1b]0;pwned\x07\x1b[2J")
    manifest.write_text(
        manifest.read_text("utf-8").replace("title: alpha", f"title: {hostile}"), encoding="utf-8"
    )
    planned = run_cli(["plan"], root)
    markdown = run_cli(["plan", "--format", "markdown"], root)
    sandbox.faults.update(status=500, status_count=1)  # unknown: the hint names the title
    applied = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))

    assert "    title: \\x1b]0;pwned\\x07\\x1b[2J\n" in planned.stdout
    assert "- title: \\\\x1b\\]0;pwned\\\\x07\\\\x1b\\[2J\n" in markdown.stdout
    assert "Look for a campaign named '\\x1b]0;pwned\\x07\\x1b[2J'" in applied.stdout
    for output in (planned, markdown, applied):
        assert "\x1b" not in output.stdout + output.stderr and "\x07" not in output.stdout
    # The data itself is sent as written: only what is shown is escaped.
    assert sandbox.requests[0].body["campaign"]["name"] == "\x1b]0;pwned\x07\x1b[2J"


def test_a_state_file_with_control_characters_is_refused_or_shown_escaped(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path / "p", [])
    hostile = "2099-01-01T00:00:00Z\x1b[2J\x9b\r"
    replaced = {"id": 6, "fingerprint": "x", "created_at": hostile, "replaced_at": hostile}
    entry = {
        "status": "created",
        "fingerprint": "sha256:" + "a" * 64,
        "phones": 1,
        "id": 7,
        "created_at": "2099-01-01T00:00:00Z",
        "history": [replaced],
    }
    path = root / "dialogops.state.json"
    state = {"version": 1, "serial": 1, "lineage": "x", "campaigns": {"nps": entry}}
    path.write_text(json.dumps(state), encoding="utf-8")

    listed = run_cli(["state", "list"], root)
    shown = run_cli(["state", "show", "nps"], root)
    entry["created_at"] = hostile  # a field with a format is checked as the state is read
    path.write_text(json.dumps(state), encoding="utf-8")
    refused = run_cli(["state", "list"], root)

    assert "nps   created  7   1       2099-01-01T00:00:00Z" in listed.stdout
    assert json.loads(shown.stdout)["history"][0]["created_at"] == hostile  # JSON escapes
    assert '"created_at": "2099-01-01T00:00:00Z\\u001b[2J\\u009b\\r"' in shown.stdout
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"error: {path}: not a valid dialogops state file: campaigns.nps.created_at: "
        "Expected `str` like 2099-01-01T09:00:00Z (ISO 8601)\n"
    )
    for output in (listed, shown, refused):
        assert not any(char in output.stdout + output.stderr for char in "\x1b\r\x07\x9b")


def test_a_lock_file_with_control_characters_is_described_escaped(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    holder = {
        "pid": 4242,
        "host": "ci-runner\x1b]0;pwned\x07",
        "user": "bob\r",
        "command": "dialogops apply\x1b[2J",
        "started_at": "2099-01-01T00:00:00Z",
    }
    lock_file = root / "dialogops.state.json.lock"
    lock_file.write_text(json.dumps(holder), encoding="utf-8")
    with lock_file.open("rb") as held:  # the holder's kernel lock, as the holder would take it
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = run_cli(["apply", "--auto-approve"], root, env={"DIALOG_TOKEN": "t0ken"})
        unlocked = run_cli(["state", "unlock"], root)

    assert waiting.returncode == 1
    described = (
        "state is locked by pid 4242 (bob\\x0d@ci-runner\\x1b]0;pwned\\x07, "
        "`dialogops apply\\x1b[2J`, since 2099-01-01T00:00:00Z)"
    )
    assert waiting.stderr.startswith(f"error: {described}")
    assert unlocked.stderr.startswith(f"error: {described}, which is still running")
    for output in (waiting.stderr, unlocked.stderr):
        assert not any(char in output for char in "\x1b\r\x07")


# --- lock files that are odd, and a disk that is full ---------------------------------------


@pytest.mark.parametrize("pid", [2**63, -1, 1.5, "4242", None, [1]])
def test_a_lock_record_with_any_pid_is_described_in_one_line(tmp_path: Path, pid: object) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    lock_file = root / "dialogops.state.json.lock"
    lock_file.write_text(json.dumps({"pid": pid, "host": "ci", "command": "x"}), encoding="utf-8")
    with lock_file.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = run_cli(["apply", "--auto-approve"], root, env={"DIALOG_TOKEN": "t0ken"})
        unlocked = run_cli(["state", "unlock"], root)

    for result in (waiting, unlocked):
        assert result.returncode == 1
        assert result.stderr.startswith("error: state is locked by ")
        assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("make", "reason"), [("folder", "Is a directory"), ("link", "it is a symbolic link")]
)
def test_a_lock_path_that_is_no_file_is_one_error(tmp_path: Path, make: str, reason: str) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    lock_file = root / "dialogops.state.json.lock"
    lock_file.unlink(missing_ok=True)  # left by the state's start
    if make == "folder":
        lock_file.mkdir()
    else:
        lock_file.symlink_to(tmp_path / "elsewhere")
    for args in (["state", "unlock"], ["apply", "--auto-approve"], ["state", "rm", "alpha"]):
        result = run_cli(args, root, env={"DIALOG_TOKEN": "t0ken"})
        assert (result.returncode, result.stderr) == (
            1,
            f"error: {lock_file}: cannot open the lock file: {reason}\n",
        ), args
    assert not (tmp_path / "elsewhere").exists()


def test_a_disk_too_full_for_the_lock_record_stops_apply_before_anything_is_sent(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = write_project(tmp_path / "p", ["alpha"], api_url=sandbox.url)
    state = (root / "dialogops.state.json").read_bytes()

    def no_file_may_grow() -> None:  # every write fails, as on a full disk (EFBIG, not ENOSPC)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    applied = subprocess.run(
        [sys.executable, "-m", "dialogops", "apply", "--auto-approve"],
        cwd=root,
        env=child_env(api_env(sandbox)),
        capture_output=True,
        text=True,
        preexec_fn=no_file_may_grow,
        check=False,
    )

    assert (applied.returncode, applied.stdout) == (1, "")
    assert applied.stderr == (
        f"error: {root / 'dialogops.state.json.lock'}: cannot write the lock holder's details "
        "(File too large); nothing was changed or sent\n"
    )
    assert sandbox.requests == []
    assert (root / "dialogops.state.json").read_bytes() == state


def test_control_characters_in_a_data_file_are_shown_escaped(tmp_path: Path) -> None:
    assert run_cli(["init"], tmp_path).returncode == 0
    [data] = (tmp_path / "campaigns" / "data").glob("*.csv")
    data.write_text("phone,name\n+7 999 123-45-67,Ann\n\x1b]0;pwned\x07\x1b[2J,Bob\n", "utf-8")

    planned = run_cli(["plan"], tmp_path)

    assert planned.returncode == 1
    assert (
        f"{data.relative_to(tmp_path)}:3:1: phone: '\\x1b]0;pwned\\x07\\x1b[2J' is not a valid "
        "phone number" in planned.stderr
    )
    assert not any(char in planned.stdout + planned.stderr for char in "\x1b\x07")
