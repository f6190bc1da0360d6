"""Phone normalisation: the documented formats, errors, masking, and the fast path's
agreement with phonenumbers over a table and thousands of generated numbers."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from dialogops.phones import fast_e164, mask, normalize


def library(raw: str, region: str) -> str | None:
    """What phonenumbers itself says: the E.164 form, or None when invalid."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


VALID = [
    ("+7 999 123-45-67", "RU", "+79991234567"),
    ("8 (999) 123-45-67", "RU", "+79991234567"),
    ("79991234567", "RU", "+79991234567"),
    ("9991234567", "RU", "+79991234567"),
    ("+79991234567", "RU", "+79991234567"),
    ("89991234567", "RU", "+79991234567"),
    ("8-999-123-45-67", "RU", "+79991234567"),
    ("(999) 123 45 67", "RU", "+79991234567"),
    ("  +7 (999) 123-45-67  ", "RU", "+79991234567"),
    ("+7\u00a0999\u00a0123\u00a045\u00a067", "RU", "+79991234567"),  # no-break spaces
    ("8 (812) 123-45-67", "RU", "+78121234567"),  # St Petersburg landline
    ("+7 495 123 45 67", "RU", "+74951234567"),  # Moscow landline
    ("8 800 555-35-35", "RU", "+78005553535"),  # toll free
    ("+7 701 123 45 67", "RU", "+77011234567"),  # +7 is shared with Kazakhstan
    ("+7 999 123 45 67", "DE", "+79991234567"),  # an explicit country ignores the region
    ("030 1234567", "DE", "+49301234567"),
    ("+44 20 7946 0958", "RU", "+442079460958"),
    ("+1 (650) 253-0000", "RU", "+16502530000"),
    ("89991234567", "KZ", "+79991234567"),
    ("+7.999.123.45.67", "RU", "+79991234567"),
]

INVALID = [
    ("", "empty phone number"),
    ("   ", "empty phone number"),
    ("12345", "too short"),
    ("899912345678", "not a valid phone number"),
    ("+7 999 123-45-6", "too short"),
    ("phone", "not a phone number"),
    ("+7 000 123-45-67", "not a valid phone number"),
    ("7 199 123 45 67", "not a valid phone number"),
    ("+999 1234567", "not a valid phone number"),
    ("8 912 345 67 89 доп. 12", "not a phone number"),  # not an extension mark phonenumbers knows
]


@pytest.mark.parametrize(("raw", "region", "expected"), VALID)
def test_valid_formats_normalise_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize(raw, region) == expected
    assert library(raw, region) == expected


@pytest.mark.parametrize(("raw", "reason"), INVALID)
def test_invalid_numbers_raise_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize(raw)
    assert library(raw, "RU") is None


# Every notation phonenumbers reads as an extension; each is refused, never dropped.
EXTENSIONS = [
    ("8-912-345-67-89 доб. 12", "'8-912-***-**-** доб. 12'", "12"),
    ("+7 (912) 345-67-89 доб.12", "'+7 (912) ***-**-** доб.12'", "12"),
    ("+7 912 345 67 89 ext. 12", "'+7 912 *** ** ** ext. 12'", "12"),
    ("89123456789 x12", "'8912******* x12'", "12"),
    ("89123456789#12", "'8912*******#12'", "12"),
    ("89123456789,12", "'8912*******,12'", "12"),
    ("89123456789;ext=12", "'8912*******;ext=12'", "12"),
    ("+44 20 7946 0958 ext 7", "'+44 20 **** ***8 ext 7'", "7"),
    ("+7 912 345 67 89 ext 0", "'+7 912 *** ** *9 ext 0'", "0"),
]


@pytest.mark.parametrize(("raw", "shown", "extension"), EXTENSIONS)
def test_a_number_with_an_extension_is_refused_naming_it(
    raw: str, shown: str, extension: str
) -> None:
    assert phonenumbers.parse(raw, "RU").extension == extension  # what the library reads
    assert fast_e164(raw, "RU") is None  # the fast path never sees it
    with pytest.raises(ValueError) as info:
        normalize(raw)
    assert str(info.value) == (
        f"{shown} has an extension ({extension!r}): dialogops cannot dial extensions"
    )


def test_the_error_quotes_the_input() -> None:
    with pytest.raises(ValueError) as info:
        normalize("8 (999) 12")
    assert str(info.value).startswith("'8 (999) 12' is not a valid phone number")


def test_default_region_is_ru() -> None:
    assert normalize("9991234567") == "+79991234567"


@pytest.mark.parametrize(
    "raw",
    [
        "+7 999 123-45-67",
        "8 (999) 123-45-67",
        "79991234567",
        "9991234567",
        "8 (812) 123-45-67",
        "+7 701 123 45 67",
    ],
)
def test_common_notations_take_the_fast_path(raw: str) -> None:
    assert fast_e164(raw, "RU") == library(raw, "RU")
    assert fast_e164(raw, "RU") is not None


def _noisy(rnd: random.Random, text: str) -> str:
    """Insert the separators the fast path strips, in random places."""
    return "".join(c + rnd.choice(["", "", "", " ", "-", "(", ")", " ("]) for c in text)


@pytest.mark.slow
def test_fast_path_agrees_with_phonenumbers_on_a_random_sample() -> None:
    rnd = random.Random(20260101)
    prefixes = ["", "7", "8", "+7", "+7 ", "8 ", "810", "+8", "77", "78", "87", "0", "+"]
    checked = fast = 0
    for _ in range(20000):
        # Half the numbers start like real RU/KZ numbers so most are valid.
        lead = rnd.choice(["9", "8", "4", "3", "7"]) if rnd.random() < 0.5 else ""
        nsn = lead + "".join(rnd.choice("0123456789") for _ in range(10 - len(lead)))
        nsn = nsn[: rnd.choice([10, 10, 10, 9])] + rnd.choice(["", "", "", "", "5"])
        raw = rnd.choice(prefixes) + nsn
        if rnd.random() < 0.5:
            raw = _noisy(rnd, raw)
        region = rnd.choice(["RU", "RU", "RU", "KZ", "DE", "US"])
        expected = library(raw, region)
        got = fast_e164(raw, region)
        if got is not None:
            fast += 1
            assert got == expected, (raw, region)
        if expected is None:
            with pytest.raises(ValueError):
                normalize(raw, region)
        else:
            assert normalize(raw, region) == expected, (raw, region)
        checked += 1
    assert checked == 20000
    assert fast > 1500  # the sample really exercised the fast path


def test_fast_path_agrees_for_every_three_digit_prefix() -> None:
    """Every RU/KZ area and mobile code, in each notation, with random subscriber digits."""
    rnd = random.Random(3)
    for code in range(1000):
        tail = f"{rnd.randrange(10**7):07d}"
        nsn = f"{code:03d}{tail}"
        for raw in (f"+7{nsn}", f"8{nsn}", f"7{nsn}", nsn, f"8 ({nsn[:3]}) {tail}"):
            got = fast_e164(raw, "RU")
            if got is not None:
                assert got == library(raw, "RU"), raw
            assert (library(raw, "RU") or "invalid") == _normalize_or_invalid(raw)


def test_the_international_prefix_is_found_by_its_digits() -> None:
    """The fast path tests for RU's international prefix as plain text, and numbers dialled
    through it are left to the library."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("RU")
    assert metadata is not None
    assert metadata.international_prefix == "810"
    for raw in ("81049301234567", "8 10 49 30 1234567", "8109991234567", "8109991234"):
        assert fast_e164(raw, "RU") is None, raw


def _normalize_or_invalid(raw: str) -> str:
    try:
        return normalize(raw, "RU")
    except ValueError:
        return "invalid"


def test_unusual_input_goes_to_the_library() -> None:
    assert fast_e164("+7\t999 123 45 67", "RU") is None
    full_width = "".join(chr(0xFF10 + int(d)) for d in "89991234567")
    assert fast_e164(full_width, "RU") is None
    assert normalize(full_width, "RU") == "+79991234567"
    assert fast_e164("9991234567", "DE") is None


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+79991234567", "+7999***4567"),
        ("+442079460958", "+4420***0958"),
        ("+4930123456", "+4930***3456"),
        ("+3701234", "+37***34"),
        ("+1234", "+****"),
    ],
)
def test_mask_hides_the_middle(e164: str, masked: str) -> None:
    assert mask(e164) == masked


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("+7 999 123-45-6", "'+7 999 ***-*5-6' is not a valid phone number (too short)"),
        ("899912345678", "'8999******78' is not a valid phone number"),
        ("+7 000 123-45-67", "'+7 000 ***-**-67' is not a valid phone number"),
        ("8 (999) 12", "'8 (999) 12' is not a valid phone number (too short)"),
        ("phone", "'phone' is not a valid phone number (not a phone number)"),
    ],
)
def test_errors_hide_the_middle_of_a_number_that_is_almost_valid(raw: str, shown: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize(raw)
    assert str(info.value).startswith(shown)
