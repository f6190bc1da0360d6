"""The one set of Markdown escaping rules, shared by the plan comment and report tables."""

from __future__ import annotations

from dialogops.markdown import code, escape


def test_markup_characters_get_a_backslash() -> None:
    assert escape(r"*b* _i_ `c` [l](u) #h a|b \x") == (r"\*b\* \_i\_ \`c\` \[l\](u) \#h a\|b \\x")


def test_html_stays_text() -> None:
    assert escape("<b>Tom & Jerry</b>") == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"


def test_a_line_break_cannot_end_a_table_row() -> None:
    assert escape("one\ntwo\r\nthree") == "one<br>two<br>three"


def test_masked_phone_stars_stay_stars_and_other_text_is_untouched() -> None:
    assert escape("Обзвон клиентов 2099-12-01 +7999***4567") == (
        r"Обзвон клиентов 2099-12-01 +7999\*\*\*4567"
    )


def test_a_code_span_holds_any_text_literally() -> None:
    assert code("schedule.start_time: 09:00 -> 10:00") == "`schedule.start_time: 09:00 -> 10:00`"
    assert code("{{ row.a | b }} <i>") == "`{{ row.a | b }} <i>`"
    # A longer fence than any backtick run inside, padded where a backtick touches it.
    assert code("a `b` c") == "``a `b` c``"
    assert code("`x`") == "`` `x` ``"
    assert code("one\ntwo") == "`one two`"
