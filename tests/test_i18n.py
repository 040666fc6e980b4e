"""Message catalogues: every language has every key, English has no Chinese, values format in
the catalogue's language."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest

from sheetsync.core.model import Duration
from sheetsync.i18n import MissingMessage, languages, load_catalogue
from sheetsync.i18n.catalogue import _flatten, language_dir

# CJK ideographs, CJK punctuation (【】「」、。), full-width forms (，：（）), kana
CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def own_entries(language: str) -> dict:
    """A language folder's own keys (without the fallback to the default language)."""
    import tomllib

    out: dict = {}
    for path in sorted((language_dir(language) / "messages").glob("*.toml")):
        with path.open("rb") as fh:
            out.update(_flatten(tomllib.load(fh)))
    return out


def test_both_shipped_languages_exist():
    assert {"zh-CN", "en"} <= set(languages())


@pytest.mark.parametrize("language", ["en"])
def test_every_language_has_every_key_of_the_default(language):
    default, other = own_entries("zh-CN"), own_entries(language)
    assert sorted(set(default) - set(other)) == [], "keys missing in " + language
    assert sorted(set(other) - set(default)) == [], "keys only in " + language


def test_english_messages_have_no_chinese():
    bad = {k: v for k, v in own_entries("en").items() if CJK.search(str(v))}
    assert bad == {}




@pytest.mark.parametrize(("language", "value", "text"), [
    ("zh-CN", Duration(600, limit=True), "10分钟"),
    ("en", Duration(600, limit=True), "10 min"),
    ("zh-CN", Duration(15, limit=True), "15秒"),
    ("zh-CN", Duration(86400, limit=True), "24小时"),
    ("zh-CN", Duration(2 * 86400, limit=True), "2天"),
    ("zh-CN", Duration(40), "40秒"),
    ("zh-CN", Duration(93780), "1天2小时3分钟"),
    ("en", Duration(93780), "1 d 2 h 3 min"),
    ("zh-CN", ("LGD-R-030", "LGD-N-010"), "LGD-R-030、LGD-N-010"),
    ("en", ("LGD-R-030", "LGD-N-010"), "LGD-R-030, LGD-N-010"),
    ("zh-CN", datetime(2026, 11, 20, 10, 5), "2026-11-20 10:05"),
    ("zh-CN", datetime(2026, 11, 20), "2026-11-20"),
    ("zh-CN", date(2026, 11, 20), "2026-11-20"),
    ("zh-CN", time(9, 30), "09:30"),
    ("zh-CN", 5.0, "5"),
    ("zh-CN", 2.5, "2.5"),
    ("zh-CN", None, "(空)"),
    ("en", True, "yes"),
])
def test_values_read_in_the_catalogues_language(language, value, text):
    assert load_catalogue(language).value(value) == text


def test_a_missing_key_is_an_error_and_a_missing_param_is_visible():
    cat = load_catalogue("zh-CN")
    with pytest.raises(MissingMessage):
        cat.text("no.such.key")
    assert cat.format("缺少 {who} 的 {what}", who="童欣") == "缺少 童欣 的 {what}"


@pytest.mark.parametrize("pattern, params, text", [
    ("还剩 {n} 条", {"n": 3}, "还剩 3 条"),
    ("{when}", {"when": datetime(2026, 11, 20, 10, 5)}, "2026-11-20 10:05"),
    ("{x:>4}|{x}", {"x": "ab"}, "  ab|ab"),
    ("{{literal}} {n}", {"n": 1.0}, "{literal} 1"),
    ("{missing} and {n}", {"n": 2}, "{missing} and 2"),
    ("{n!r}", {"n": "a"}, "'a'"),  # a conversion: the general way
    ("{d.year}", {"d": date(2026, 1, 2)}, "2026"),  # an attribute: the general way
    ("{n:{width}}", {"n": 7, "width": 3}, "  7"),  # a nested spec: the general way
    ("{n:.1f} KB", {"n": "x"}, "{n:.1f} KB"),  # does not format: the pattern itself, never a crash
    ("{unclosed", {}, "{unclosed"),
    ("{}", {}, "{}"),
])
def test_patterns_format_the_same_however_they_are_parsed(pattern, params, text):
    """Plain fields go through a pattern parsed once; the others through str.format's machinery;
    either way the same words."""
    from sheetsync.i18n.catalogue import _Formatter, _Lenient, _compiled

    cat = load_catalogue("zh-CN")
    assert cat.format(pattern, **params) == text
    if _compiled(pattern) is not None:
        try:
            general = _Formatter(cat).vformat(pattern, (), _Lenient(params))
        except (ValueError, IndexError):
            general = pattern
        assert general == text


def _unworded(code, **params):
    from sheetsync.core.model import Finding

    return Finding("表", 2, "列", 1, None, code, "", params=params)


@pytest.mark.parametrize("a, b", [
    ({"value": 1}, {"value": True}),  # equal in Python, worded differently
    ({"value": 1}, {"value": 1.5}),
    ({"value": datetime(2026, 1, 2, 9, 30)}, {"value": datetime(2026, 1, 2)}),
    ({"value": ("a", "b")}, {"value": ("a", "c")}),
])
def test_words_kept_from_an_earlier_finding_are_those_its_own_parameters_give(a, b):
    """``with_messages`` keeps the words it rendered for a code and parameters; a finding whose
    parameters only compare equal, or differ, gets its own words, as rendering it alone gives."""
    from sheetsync.i18n.findings import render_message, with_messages
    from sheetsync.core.model import Phrase

    cat = load_catalogue("zh-CN")
    cat = type(cat)(cat.language, {**cat.entries, "findings.t.x": "值是 {value}"})
    first, second, again = with_messages([_unworded("t.x", **a), _unworded("t.x", **b), _unworded("t.x", **a)], cat)
    assert first.message == render_message(_unworded("t.x", **a), cat) == again.message
    assert second.message == render_message(_unworded("t.x", **b), cat) != first.message
    one, other = with_messages([_unworded("t.x", value=Phrase("findings.t.x", {"value": 1})),
                                _unworded("t.x", value=Phrase("findings.t.x", {"value": 2}))], cat)
    assert one.message != other.message  # phrases equal but for their parameters
    reworded = type(cat)(cat.language, {**cat.entries, "findings.t.x": "现在是 {value}"})
    [now] = with_messages([_unworded("t.x", **a)], reworded)  # a reworded catalogue: words anew
    assert now.message == render_message(_unworded("t.x", **a), reworded) != first.message


def test_words_kept_for_a_moment_are_not_given_to_the_same_moment_in_another_time_zone():
    from datetime import timedelta, timezone

    from sheetsync.i18n.findings import render_message, with_messages

    cat = load_catalogue("zh-CN")
    cat = type(cat)(cat.language, {**cat.entries, "findings.t.x": "值是 {value}"})
    utc = datetime(2026, 1, 2, 9, 30, tzinfo=timezone.utc)
    shanghai = utc.astimezone(timezone(timedelta(hours=8)))
    assert utc == shanghai
    first, second = with_messages([_unworded("t.x", value=utc), _unworded("t.x", value=shanghai)], cat)
    assert second.message == render_message(_unworded("t.x", value=shanghai), cat) != first.message
