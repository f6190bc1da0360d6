"""Phone numbers: normalisation to E.164 (phonenumbers decides validity) and masking.

The common +7 shapes (`+7 999 123-45-67`, `8 (999) 123-45-67`, `79991234567`,
`9991234567`) take a fast path that applies phonenumbers' own parse and validity rules,
built from the library's metadata; anything else goes through the library itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat

from dialogops.masking import mask_digits

# Mobile first: a number is valid when any type matches, so the order does not change the
# answer, and the alternatives are tried in order, nearly all the numbers called being mobile.
_TYPE_DESCS = (
    "mobile", "premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
    "pager", "uan", "voicemail", "fixed_line",
)  # fmt: skip
_NSN_LENGTH = 10
_MAX_INPUT = 250  # phonenumbers refuses longer input outright

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
}


def _metadata(region: str) -> PhoneMetadata:
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        raise LookupError(f"phonenumbers has no metadata for {region}")
    return meta


def _region_validator(region: str) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """One region's (leading digits, valid ten-digit number) patterns, as the library checks.

    phonenumbers calls a number valid when it fully matches the region's general pattern
    and at least one number-type pattern, each only if its possible lengths allow the
    number's length; the lookahead joins the general pattern to the type patterns.
    """
    meta = _metadata(region)
    general = meta.general_desc
    leading = re.compile(meta.leading_digits) if meta.leading_digits else None

    def allows(desc: object) -> bool:
        lengths = getattr(desc, "possible_length", ())
        pattern = getattr(desc, "national_number_pattern", None)
        return bool(pattern) and (not lengths or _NSN_LENGTH in lengths)

    if general is None or not allows(general):
        return leading, None
    types = [getattr(meta, name) for name in _TYPE_DESCS]
    alternatives = "|".join(
        f"(?:{d.national_number_pattern})" for d in types if d is not None and allows(d)
    )
    if not alternatives:
        return leading, None
    return leading, re.compile(rf"(?=(?:{general.national_number_pattern})\Z)(?:{alternatives})\Z")


def _cc7_validity() -> Callable[[str], object]:
    """Validity of a ten-digit national number under +7, choosing the region like the library.

    +7 is shared by RU and KZ: a region with leading digits claims the numbers they match,
    a region without them claims the numbers valid for it (`_region_code_for_number_from_list`).
    The regions become one pattern of alternatives in the library's order, each guarded
    against the leading digits of the regions before it that claim numbers by them.
    """
    alternatives: list[str] = []
    claimed: list[str] = []  # the leading digits of the regions seen so far
    for leading, pattern in map(_region_validator, phonenumbers.COUNTRY_CODE_TO_REGION_CODE[7]):
        guard = "".join(f"(?!{other})" for other in claimed)
        own = "" if leading is None else f"(?={leading.pattern})"
        if pattern is not None:
            alternatives.append(f"{guard}{own}(?:{pattern.pattern})")
        if leading is not None:
            claimed.append(f"(?:{leading.pattern})")
    # ASCII: only ASCII digits take the fast path; `(?!)` matches nothing.
    return re.compile("|".join(alternatives) or "(?!)", re.ASCII).match


_valid_cc7 = _cc7_validity()
# Digits starting with the international prefix (810) are parsed as a foreign number. The
# metadata writes it as plain digits (a test checks), so a prefix test finds it: a regex
# match cost as much as all the rest of the fast path but the validity check.
_RU_IDD = str(_metadata("RU").international_prefix)


def fast_e164(raw: str, region: str) -> str | None:
    """The E.164 form of a valid +7 number in a common notation, or None to ask the library.

    None never means invalid: it only means this number needs the full parser. Only
    digits and the separators below get through, so an extension (written with letters,
    `#`, `,` or `;`) always goes to the library, which reports it.
    """
    if len(raw) > _MAX_INPUT:
        return None
    # Only these separators are stripped; any other character sends the number to the
    # library, which knows every other notation. (Chained replaces: several times faster
    # than str.translate on such short text; text of digits alone, common in exports, has
    # none to strip.)
    if raw.isdigit():
        digits = raw
    else:
        digits = raw.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    if digits[:2] == "+7":
        nsn = digits[2:]
    elif region != "RU" or digits.startswith(_RU_IDD):
        return None
    elif len(digits) == 11 and digits[0] in "78":
        nsn = digits[1:]
    else:
        nsn = digits
    # The library keeps an 11-digit "7..." whole when the rest is not a plausible RU number;
    # such numbers are never valid, so the fallback decides them.
    if len(nsn) == _NSN_LENGTH and _valid_cc7(nsn):
        return "+7" + nsn
    return None


def normalize(raw: str, region: str = "RU") -> str:
    """The E.164 form of `raw` (`+79991234567`); ValueError says why when it is not valid.

    Numbers written without `+country` are read as numbers of `region`. A number with an
    extension (`доб. 12`, `ext. 12`, `#12`) is refused: E.164 has no place for it.
    """
    fast = fast_e164(raw, region)
    if fast is not None:
        return fast
    text = raw.strip()
    if not text:
        raise ValueError("empty phone number")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
        raise ValueError(f"{mask_digits(raw)!r} is not a valid phone number ({reason})") from None
    if number.extension:
        # Calling the main line instead would reach someone else (and make this row a
        # duplicate of that line's own row).
        raise ValueError(
            f"{mask_digits(raw)!r} has an extension ({number.extension!r}): "
            "dialogops cannot dial extensions"
        )
    if not phonenumbers.is_valid_number(number):
        length = phonenumbers.is_possible_number_with_reason(number)
        reason = _LENGTH_REASONS.get(length, "no such number in its country's numbering plan")
        raise ValueError(f"{mask_digits(raw)!r} is not a valid phone number ({reason})")
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def mask(e164: str) -> str:
    """Hide the middle digits for display: `+79991234567` -> `+7999***4567`."""
    digits = e164.lstrip("+")
    keep = 4 if len(digits) >= 10 else 2
    if len(digits) <= 2 * keep:
        return "+" + "*" * len(digits)
    return f"+{digits[:keep]}***{digits[-keep:]}"
