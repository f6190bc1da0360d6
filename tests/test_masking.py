"""The one pass over text that leaves the program: what it hides, escapes and cuts, and
the legitimate figures it keeps."""

from __future__ import annotations

import pytest

from dialogops.masking import (
    LINE_LIMIT,
    escape_controls,
    mask_numbers,
    scrub,
    scrub_cells,
    scrub_json,
    secrets,
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("phones[0].phone '+79991234567'", "phones[0].phone '+7999*****67'"),
        ("+7 (999) 123-45-67", "+7 (999) ***-**-67"),
        ("8 (999) 123-45-67", "8 (999) ***-**-67"),
        ("89991234567 and 9991234567", "8999*****67 and 9991****67"),
        ("local 123-45-67", "local 123-4*-67"),
        ("+44 20 7946 0958", "+44 20 **** **58"),
        ("'79991234567 79991234568'", "'7999*****67 7999*****68'"),
        ("row 12:+79991234567: invalid", "row 12:+7999*****67: invalid"),
        (
            "no field '+79991000000' (available: phone)",
            "no field '+7999*****00' (available: phone)",
        ),
    ],
)
def test_phone_like_numbers_are_masked(text: str, shown: str) -> None:
    assert mask_numbers(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "created (id 1001); 1000000 rows, 50000 phones",
        "2099-12-01 09:00-17:00, 3 attempts, interval 5 min",
        "2026-12-01T04:00:00.000Z",
        "from 2099-12-01 - 2099-12-02",
        "sha256:1234567890abcdef09876543210fedcba",
        "campaigns/nps.yaml:14:15: spec.schedule.attempts: 6 is greater than the maximum of 5",
        "IDs are whole numbers from 1 to 9223372036854775807",
        "request 123e4567-e89b-12d3-a456-426614174000",
        "cannot connect to http://192.168.100.200:8080/api",
        "retry after 120s; total duration 1h 02m 05s",
    ],
)
def test_legitimate_figures_are_kept(text: str) -> None:
    assert mask_numbers(text) == text


def test_controls_are_shown_as_escapes_and_layout_is_kept() -> None:
    title = 'title: "\x1b]0;pwned\x07\x1b[2J"\tend\r\x7f\x9b\u202e\nnext'
    assert escape_controls(title) == (
        'title: "\\x1b]0;pwned\\x07\\x1b[2J"\tend\\x0d\\x7f\\x9b\\u202e\nnext'
    )
    assert scrub("a\nb", one_line=True) == "a\\x0ab"
    assert scrub("a\nb") == "a\nb"


def test_secrets_and_url_userinfo_are_redacted_first() -> None:
    secrets.add("tok-masking-5d7e")
    assert scrub("Bearer tok-masking-5d7e") == "Bearer ***"
    assert scrub("http://robot:pa55@example.com/api") == "http://***@example.com/api"
    assert scrub("HTTPS://token@host/x and ftp://a@b") == "HTTPS://***@host/x and ftp://***@b"


def test_lines_are_cut_after_masking_never_through_a_secret() -> None:
    secrets.add("acc-token-7f3e9a8b1c")
    text = "p" * (LINE_LIMIT - 6) + " acc-token-7f3e9a8b1c +79991234567\nshort"
    first, second = scrub(text).split("\n")
    assert first == "p" * (LINE_LIMIT - 6) + " *** +..."
    assert second == "short"
    assert scrub("x" * 5000, limit=None) == "x" * 5000


def test_json_for_people_stays_json() -> None:
    shown = scrub_json('{\n  "name": "a\x7fb\x9b",\n  "phone": "+79991234567"\n}')
    assert shown == '{\n  "name": "a\\u007fb\\u009b",\n  "phone": "+7999*****67"\n}'


@pytest.mark.parametrize(
    "cells",
    [
        ["c01", "1001", "2099-01-01T09:00:00Z", "+79991234567", "8 (912) 345-67-89"],
        ["a\nb", "c\x1b[31m", "tab\there", "79991234\n567", "x" * (LINE_LIMIT + 5)],
        ["12345", "67890", "", "-"],
    ],
)
def test_cells_scrubbed_in_one_pass_as_each_alone(cells: list[str]) -> None:
    assert scrub_cells(cells) == [scrub(cell, one_line=True) for cell in cells]
