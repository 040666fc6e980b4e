"""Messy cell input: every accepted form, the notes for what is not understood, and the
column parser agreeing with the scalar parsers cell for cell (including mixed-type columns)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from sheetsync.i18n import load_catalogue
from sheetsync.core.parsing import (
    CellParseError,
    error_params,
    match_choice,
    normalize_text,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_email,
    parse_int,
    parse_number,
    parse_series,
    parse_time_of_day,
    parse_time_range,
    parse_weekday_time,
    split_list,
)
from sheetsync.core.parsing.series import _all_clean_texts

YEAR = 2026
CHOICES = ("合格", "不合格")
REMEDIES = ("7天无理由(买家承担运费)", "补发", "5元券")
ALIASES = {"OK": "合格", "NG": "不合格"}
DT = datetime(2026, 11, 20, 10, 5)
CATALOGUE = load_catalogue("zh-CN")


def note(exc: CellParseError, column: str = "列") -> str:
    """The note a person reads for a cell of ``column`` this parser refused (zh-CN)."""
    return CATALOGUE.text(f"findings.{exc.code}", column=column, **exc.params)

# ---------------------------------------------------------------------------------------------
# normalize_text

NORMALIZE_CASES = [
    ("５件", "5件"),
    ("（备注）", "(备注)"),
    ("  a   b  ", "a b"),
    ("a\t\tb", "a b"),
    (" line1 \n  line2 ", "line1\nline2"),
    ("a\r\nb\rc", "a\nb\nc"),
    ("\u3000合格\u3000", "合格"),
    ("\u200bSKU-1\ufeff", "SKU-1"),
    ("ＡＢＣ１２３", "ABC123"),
    (None, ""),
    (float("nan"), ""),
    (pd.NA, ""),
    (pd.NaT, ""),
    (5, "5"),
    (5.0, "5"),
    (3.25, "3.25"),
    (0.1 + 0.2, "0.3"),
    (np.int64(7), "7"),
    (True, "TRUE"),
    (datetime(2026, 11, 20), "2026-11-20"),
    (datetime(2026, 11, 20, 10, 5), "2026-11-20 10:05"),
    (datetime(2026, 11, 20, 10, 5, 33), "2026-11-20 10:05:33"),
    (date(2026, 11, 20), "2026-11-20"),
    (time(22, 0), "22:00"),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALIZE_CASES)
def test_normalize_text(raw: Any, expected: str) -> None:
    assert normalize_text(raw) == expected


# ---------------------------------------------------------------------------------------------
# tables: (raw, expected). Each table also runs through parse_series below.

DATETIME_GOOD = [
    (DT, DT),
    (date(2026, 11, 20), datetime(2026, 11, 20)),
    (pd.Timestamp("2026-11-20 10:05"), DT),
    (np.datetime64("2026-11-20T10:05"), DT),
    (46346.42, datetime(2026, 11, 20, 10, 4, 48)),
    (46346, datetime(2026, 11, 20)),
    (np.float64(46346.5), datetime(2026, 11, 20, 12)),
    ("2026-11-20", datetime(2026, 11, 20)),
    ("2026/11/20 10:05", DT),
    ("2026.11.20", datetime(2026, 11, 20)),
    ("2026-11-20T10:05:00", DT),
    ("2026-11-20 10:05:33", datetime(2026, 11, 20, 10, 5, 33)),
    ("2026-11-20 10:05:33.25", datetime(2026, 11, 20, 10, 5, 33, 250000)),
    ("2026-1-5 9:05", datetime(2026, 1, 5, 9, 5)),
    ("2026年11月20日 10点05分", DT),
    ("2026年11月20日10:05", DT),
    ("2026年11月20号", datetime(2026, 11, 20)),
    ("11月20日 10点", datetime(2026, 11, 20, 10)),
    ("11-20", datetime(2026, 11, 20)),
    ("11/20 10:05", DT),
    ("11月20日 10点半", datetime(2026, 11, 20, 10, 30)),
    ("2026-11-20 下午3点", datetime(2026, 11, 20, 15)),
    ("2026-11-20 晚上10点", datetime(2026, 11, 20, 22)),
    ("2026-11-20 晚上12点", datetime(2026, 11, 21)),
    ("2026-11-20 3pm", datetime(2026, 11, 20, 15)),
    ("2026-11-20 10:05 PM", datetime(2026, 11, 20, 22, 5)),
    ("２０２６－１１－２０　１０：０５", DT),
    ("２０２６年１１月２０日　１０点０５分", DT),
    ("  2026-11-20 10:05  ", DT),
    ("2026-11-20  10:05", DT),
    ("", None),
    ("   ", None),
    (None, None),
    (float("nan"), None),
    (pd.NaT, None),
]
DATETIME_BAD = [
    "明天", "2026-13-01", "2026-02-30", "10点半", "下午3点", "2026-11-20 10", "2026-11-20 25:00",
    "2026-11-20 10:60", "2026-11-20 10:05:60", "1800-01-01", "0226-11-20", "2026-11-20Z",
    "2026-11-20T10:05:00+08:00", "2026", "2026-11", "20261120", "2026-11-20 下午0点", "约11月20日",
    True, 123, 1e9, float("inf"), time(10, 5), Decimal("12"), [1, 2],
]


@pytest.mark.parametrize(("raw", "expected"), DATETIME_GOOD)
def test_parse_datetime(raw: Any, expected: datetime | None) -> None:
    assert parse_datetime(raw, year=YEAR) == expected


@pytest.mark.parametrize("raw", DATETIME_BAD)
def test_parse_datetime_refuses_with_a_note(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        parse_datetime(raw, year=YEAR)
    assert info.value.kind == "datetime"
    assert info.value.raw is raw
    assert info.value.code == "parse.datetime" and info.value.params == {"raw": normalize_text(raw)}
    assert note(info.value) == f"「列」看不懂的时间: {normalize_text(raw)}。请写成 2026-11-20 10:05 这样的格式"


def test_dates_without_a_year_use_the_given_year() -> None:
    assert parse_datetime("11/20 10:05", year=2027) == datetime(2027, 11, 20, 10, 5)
    assert parse_date("11月20日", year=2025) == date(2025, 11, 20)


def test_datetime_message_shows_what_was_typed() -> None:
    with pytest.raises(CellParseError) as info:
        parse_datetime("  明天 ", year=YEAR)
    assert note(info.value, "咨询时间") == "「咨询时间」看不懂的时间: 明天。请写成 2026-11-20 10:05 这样的格式"


DATE_GOOD = [(raw, None if want is None else want.date()) for raw, want in DATETIME_GOOD]


@pytest.mark.parametrize(("raw", "expected"), DATE_GOOD)
def test_parse_date(raw: Any, expected: date | None) -> None:
    assert parse_date(raw, year=YEAR) == expected


def test_parse_date_message() -> None:
    with pytest.raises(CellParseError) as info:
        parse_date("2026-02-30", year=YEAR)
    assert info.value.kind == "date"
    assert note(info.value) == "「列」看不懂的日期: 2026-02-30。请写成 2026-11-20 这样的格式"


TIME_GOOD = [
    ("22:00", time(22)),
    ("9:30", time(9, 30)),
    ("09:05:30", time(9, 5, 30)),
    ("22点", time(22)),
    ("22 点", time(22)),
    ("10点05分", time(10, 5)),
    ("10点半", time(10, 30)),
    ("10点整", time(10)),
    ("晚上10点", time(22)),
    ("下午3点", time(15)),
    ("下午3点半", time(15, 30)),
    ("傍晚6点", time(18)),
    ("凌晨1点", time(1)),
    ("早上8点", time(8)),
    ("上午11:30", time(11, 30)),
    ("中午12点", time(12)),
    ("中午1点", time(13)),
    ("晚上12点", time(0)),
    ("12am", time(0)),
    ("12pm", time(12)),
    ("10:30 pm", time(22, 30)),
    ("２２：００", time(22)),
    ("22", time(22)),
    (time(8, 15), time(8, 15)),
    (0.9166, time(22)),
    (0.5, time(12)),
    (22, time(22)),
    (0, time(0)),
    ("", None),
    (None, None),
]
TIME_BAD = ["25:00", "10:60", "明晚", "下午0点", "下午3点pm", "24", 1.5, -0.5, 24, True, DT, "22:00:00:00"]


@pytest.mark.parametrize(("raw", "expected"), TIME_GOOD)
def test_parse_time_of_day(raw: Any, expected: time | None) -> None:
    assert parse_time_of_day(raw) == expected


@pytest.mark.parametrize("raw", TIME_BAD)
def test_parse_time_of_day_refuses(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        parse_time_of_day(raw)
    assert note(info.value) == f"「列」看不懂的时间: {normalize_text(raw)}。请写成 22:00 这样的格式"


RANGE_GOOD = [
    ("09:00-23:00", (time(9), time(23))),
    ("9点-23点", (time(9), time(23))),
    ("09:00~23:00", (time(9), time(23))),
    ("09:00～23:00", (time(9), time(23))),
    ("09:00 至 23:00", (time(9), time(23))),
    ("9:30 到 18:00", (time(9, 30), time(18))),
    ("早上9点到晚上11点", (time(9), time(23))),
    ("9:00 — 18:00", (time(9), time(18))),
    ("9am to 6pm", (time(9), time(18))),
    ("０９：００－２３：００", (time(9), time(23))),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), RANGE_GOOD)
def test_parse_time_range(raw: Any, expected: tuple[time, time] | None) -> None:
    assert parse_time_range(raw) == expected


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        ("23:00-09:00", "time_order", "结束时间必须晚于开始时间 (不支持跨夜): 23:00-09:00。请写成同一天内的时间段, 例如 09:00-23:00"),
        ("09:00-09:00", "time_order", "结束时间必须晚于开始时间 (不支持跨夜): 09:00-09:00。请写成同一天内的时间段, 例如 09:00-23:00"),
        ("全天", "time_range", "看不懂的时间段: 全天。请写成 09:00-23:00 这样的格式"),
        ("09:00", "time_range", "看不懂的时间段: 09:00。请写成 09:00-23:00 这样的格式"),
        ("09:00-25:00", "time_range", "看不懂的时间段: 09:00-25:00。请写成 09:00-23:00 这样的格式"),
        ("9-12-18", "time_range", "看不懂的时间段: 9-12-18。请写成 09:00-23:00 这样的格式"),
        (0.5, "time_range", "看不懂的时间段: 0.5。请写成 09:00-23:00 这样的格式"),
    ],
)
def test_parse_time_range_refuses(raw: Any, kind: str, message: str) -> None:
    with pytest.raises(CellParseError) as info:
        parse_time_range(raw)
    assert (info.value.kind, note(info.value)) == (kind, "「列」" + message)


WEEKDAY_GOOD = [
    ("周日 20:00", (6, time(20))),
    ("星期日20:00", (6, time(20))),
    ("礼拜天 8点", (6, time(8))),
    ("Sunday 20:00", (6, time(20))),
    ("Sun 20:00", (6, time(20))),
    ("sun. 20:00", (6, time(20))),
    ("周一 9:30", (0, time(9, 30))),
    ("星期五 下午6点", (4, time(18))),
    ("MON 08:00", (0, time(8))),
    ("Thurs 8点", (3, time(8))),
    ("周6 10:00", (5, time(10))),
    ("周日　２０：００", (6, time(20))),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), WEEKDAY_GOOD)
def test_parse_weekday_time(raw: Any, expected: tuple[int, time] | None) -> None:
    assert parse_weekday_time(raw) == expected


@pytest.mark.parametrize("raw", ["周日", "周八 20:00", "Funday 20:00", "20:00", "周日 25:00", 6])
def test_parse_weekday_time_refuses(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        parse_weekday_time(raw)
    assert note(info.value) == f"「列」看不懂的星期和时间: {normalize_text(raw)}。请写成 周日 20:00 这样的格式"


NUMBER_GOOD = [
    ("５件", 5.0),
    ("5件", 5.0),
    ("5 件", 5.0),
    ("¥199", 199.0),
    ("￥199", 199.0),
    ("¥ 199", 199.0),
    ("199元", 199.0),
    ("1,299", 1299.0),
    ("1，299", 1299.0),
    ("¥1,299.50", 1299.5),
    ("12,345,678", 12345678.0),
    ("-3", -3.0),
    ("-¥5", -5.0),
    ("+7", 7.0),
    ("3.5kg", 3.5),
    (".5", 0.5),
    ("1e3", 1000.0),
    (" 12 ", 12.0),
    ("007", 7.0),
    (12, 12.0),
    (3.5, 3.5),
    (np.float64(2.5), 2.5),
    (np.int64(4), 4.0),
    (Decimal("2.5"), 2.5),
    ("", None),
    ("  ", None),
    (None, None),
    (float("nan"), None),
]
NUMBER_BAD = ["约5", "5左右", "1,29", "1,2345", "abc", "5-6", "inf", "nan", "--5", "-¥-5", "5%", "¥", "1.2.3",
              True, False, float("inf"), DT, time(1, 0), 10**400]


@pytest.mark.parametrize(("raw", "expected"), NUMBER_GOOD)
def test_parse_number(raw: Any, expected: float | None) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize("raw", NUMBER_BAD)
def test_parse_number_refuses(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        parse_number(raw)
    assert (info.value.kind, note(info.value)) == ("number", f"「列」看不懂的数字: {normalize_text(raw)}。请只填一个数, 例如 12.5 (不要写“约”“左右”或范围)")


def test_number_message_is_plain() -> None:
    with pytest.raises(CellParseError, match="^parse.number: '约5'$"):
        parse_number("约5")


INT_GOOD = [("5", 5), ("５件", 5), ("1,299", 1299), ("-3", -3), ("5.0", 5), (5.0, 5), (7, 7), ("", None), (None, None)]
INT_BAD = ["5.5", 5.5, "约5", True, 2**60, "1e20"]


@pytest.mark.parametrize(("raw", "expected"), INT_GOOD)
def test_parse_int(raw: Any, expected: int | None) -> None:
    result = parse_int(raw)
    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize("raw", INT_BAD)
def test_parse_int_refuses(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        parse_int(raw)
    assert (info.value.kind, note(info.value)) == ("int", f"「列」应该是整数: {normalize_text(raw)}。请填整数, 例如 3")


BOOL_GOOD = [
    ("是", True), ("否", False), (" 是 ", True), ("Y", True), ("n", False), ("yes", True), ("NO", False),
    ("true", True), ("FALSE", False), ("✓", True), ("✗", False), ("✔", True), ("✘", False), ("×", False),
    ("√", True), ("✔\ufe0f", True), ("1", True), ("0", False), (1, True), (0.0, False), (True, True),
    (False, False), (np.bool_(True), True), ("", None), (None, None),
]
BOOL_BAD = ["对", "错", "有", "无", "是的", "maybe", 2, 0.5, "x", DT]


@pytest.mark.parametrize(("raw", "expected"), BOOL_GOOD)
def test_parse_bool(raw: Any, expected: bool | None) -> None:
    assert parse_bool(raw) is expected


@pytest.mark.parametrize("raw", BOOL_BAD)
def test_parse_bool_refuses(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        parse_bool(raw)
    assert (info.value.kind, note(info.value)) == ("bool", f"「列」应该填 是 或 否, 现在是: {normalize_text(raw)}。请改成 是 或 否 (也可以用 ✓ 和 ✗)")


SPLIT_CASES = [
    ("A1, A2、A3", ("A1", "A2", "A3")),
    ("A1，A2；A3;A4", ("A1", "A2", "A3", "A4")),
    ("A1\nA2\n\nA3", ("A1", "A2", "A3")),
    ("A1 , , A2,", ("A1", "A2")),
    ("ＳＫＵ１、ＳＫＵ２", ("SKU1", "SKU2")),
    ("A1 B1", ("A1 B1",)),
    ("a@x.com b@y.com", ("a@x.com", "b@y.com")),
    ("a@x.com; b@y.com\nc@z.com", ("a@x.com", "b@y.com", "c@z.com")),
    (123, ("123",)),
    (" ， ", ()),
    ("", ()),
    (None, ()),
]


@pytest.mark.parametrize(("raw", "expected"), SPLIT_CASES)
def test_split_list(raw: Any, expected: tuple[str, ...]) -> None:
    assert split_list(raw) == expected


CHOICE_GOOD = [
    ("合格", CHOICES, "合格"),
    (" 合格 ", CHOICES, "合格"),
    ("不 合格", CHOICES, "不合格"),
    ("ok", CHOICES, "合格"),
    ("Ng", CHOICES, "不合格"),
    ("7天无理由（买家承担运费）", REMEDIES, "7天无理由(买家承担运费)"),
    ("５元券", REMEDIES, "5元券"),
    ("", CHOICES, None),
    (None, CHOICES, None),
]


@pytest.mark.parametrize(("raw", "choices", "expected"), CHOICE_GOOD)
def test_match_choice(raw: Any, choices: tuple[str, ...], expected: str | None) -> None:
    assert match_choice(raw, choices, ALIASES if choices == CHOICES else {}) == expected


def test_match_choice_is_case_insensitive_for_latin() -> None:
    assert match_choice("ＹＥＳ", ("yes", "no")) == "yes"
    assert match_choice("Wangwang", ("旺旺", "wangwang")) == "wangwang"


@pytest.mark.parametrize("raw", ["还行", "合格了", 1, True])
def test_match_choice_refuses(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        match_choice(raw, CHOICES, ALIASES)
    assert note(info.value) == f"「列」「{normalize_text(raw)}」不是可选的值。请改成其中一个: 合格、不合格"


def test_match_choice_alias_must_point_at_a_choice() -> None:
    with pytest.raises(ValueError, match="not one of"):
        match_choice("x", CHOICES, {"x": "优秀"})


EMAIL_GOOD = [("boss@shop.com", "boss@shop.com"), (" ｂｏｓｓ＠ｓｈｏｐ.ｃｏｍ ", "boss@shop.com"), ("", None),
              (None, None)]
EMAIL_BAD = ["boss", "boss@", "@shop.com", "a b@shop.com", "a@b@c", 5]


@pytest.mark.parametrize(("raw", "expected"), EMAIL_GOOD)
def test_parse_email(raw: Any, expected: str | None) -> None:
    assert parse_email(raw) == expected


@pytest.mark.parametrize("raw", EMAIL_BAD)
def test_parse_email_refuses(raw: Any) -> None:
    with pytest.raises(CellParseError) as info:
        parse_email(raw)
    assert note(info.value) == f"「列」不是邮箱地址: {normalize_text(raw)}。请写成 name@example.com 这样的完整地址"


# Objects no backend produces today but a cell might one day hold: nothing may crash.
ODD_VALUES = [object(), [1], {"a": 1}, (1, 2), b"bytes", timedelta(hours=1), np.timedelta64(5, "m"),
              np.datetime64("NaT"), Decimal("NaN"), complex(1, 2), "\x00", "\ud800", "🙂" * 50, "9" * 400,
              np.str_("2026-11-20")]
SCALAR_PARSERS: list[Callable[[Any], Any]] = [
    normalize_text, parse_number, parse_int, parse_bool, parse_time_of_day, parse_time_range,
    parse_weekday_time, split_list, parse_email, lambda v: parse_datetime(v, year=YEAR),
    lambda v: parse_date(v, year=YEAR), lambda v: match_choice(v, CHOICES),
]


@pytest.mark.parametrize("raw", ODD_VALUES, ids=repr)
def test_odd_objects_never_crash(raw: Any) -> None:
    for parser in SCALAR_PARSERS:
        try:
            parser(raw)
        except CellParseError as exc:
            assert exc.code.startswith("parse.") and note(exc)


# ---------------------------------------------------------------------------------------------
# parse_series agrees with the scalar parsers

SCALARS: dict[str, Callable[[Any], Any]] = {
    "text": lambda v: normalize_text(v) or None,
    "datetime": lambda v: parse_datetime(v, year=YEAR),
    "date": lambda v: parse_date(v, year=YEAR),
    "int": parse_int,
    "number": parse_number,
    "bool": parse_bool,
    "choice": lambda v: match_choice(v, CHOICES, ALIASES),
    "sku_list": lambda v: split_list(v) or None,
    "email": parse_email,
}
DTYPES = {"text": "object", "datetime": "datetime64[ns]", "date": "datetime64[ns]", "int": "Int64",
          "number": "float64", "bool": "boolean", "choice": "object", "sku_list": "object", "email": "object"}


def _column_value(kind: str, value: Any) -> Any:
    if kind in ("datetime", "date"):
        return pd.Timestamp(value)
    return value


def assert_agrees(cells: list[Any] | pd.Series, kind: str) -> None:
    """parse_series gives, cell for cell, what the scalar parser gives (value, empty, bad, note)."""
    series = cells if isinstance(cells, pd.Series) else pd.Series(cells, dtype=object)
    parsed = parse_series(series, kind, year=YEAR, choices=CHOICES, aliases=ALIASES)
    assert str(parsed.values.dtype) == DTYPES[kind]
    assert parsed.values.index.equals(series.index) and parsed.bad.index.equals(series.index)
    scalar = SCALARS[kind]
    for i, cell in enumerate(series.tolist()):
        got, bad, empty = parsed.values.iloc[i], parsed.bad.iloc[i], parsed.empty.iloc[i]
        try:
            want = scalar(cell)
        except CellParseError as exc:
            assert (bad, empty) == (True, False), (kind, cell)
            assert pd.isna(got), (kind, cell)
            assert error_params(kind, cell, CHOICES) == exc.params
            continue
        if want is None:
            assert (bad, empty) == (False, True), (kind, cell)
            assert got is None or pd.isna(got), (kind, cell)
        else:
            assert (bad, empty) == (False, False), (kind, cell, want)
            assert got == _column_value(kind, want), (kind, cell, got, want)


TABLES: dict[str, list[Any]] = {
    "datetime": [raw for raw, _ in DATETIME_GOOD] + DATETIME_BAD,
    "date": [raw for raw, _ in DATE_GOOD] + DATETIME_BAD,
    "number": [raw for raw, _ in NUMBER_GOOD] + NUMBER_BAD,
    "int": [raw for raw, _ in INT_GOOD + NUMBER_GOOD] + INT_BAD + NUMBER_BAD,
    "bool": [raw for raw, _ in BOOL_GOOD] + BOOL_BAD,
    "text": [raw for raw, _ in NORMALIZE_CASES] + ["合格", "  ", "\u200b"],
    "choice": [raw for raw, _c, _w in CHOICE_GOOD if _c == CHOICES] + ["还行", 1, True],
    "sku_list": [raw for raw, _ in SPLIT_CASES],
    "email": [raw for raw, _ in EMAIL_GOOD] + EMAIL_BAD,
}


@pytest.mark.parametrize("kind", list(TABLES))
def test_series_agrees_with_scalar_on_every_form(kind: str) -> None:
    assert_agrees(TABLES[kind] + ODD_VALUES, kind)


@pytest.mark.parametrize("kind", list(TABLES))
def test_series_of_str_dtype_agrees(kind: str) -> None:
    texts = [v for v in TABLES[kind] if isinstance(v, str) and not isinstance(v, np.str_)] + [None]
    series = pd.Series(texts, dtype="str", index=range(100, 100 + len(texts)))
    assert_agrees(series, kind)


@pytest.mark.parametrize(
    ("series", "kinds"),
    [
        (pd.Series([46346.42, np.nan, 46346.0, 5.0, 1e6, 0.9166, -1.0]),
         ["datetime", "date", "number", "int", "text", "bool"]),
        (pd.Series([46346, 5, 0, 1, -3, 2**62]), ["datetime", "number", "int", "text", "bool", "choice"]),
        (pd.Series([1, None, 5], dtype="Int64"), ["int", "number", "text"]),
        (pd.Series([True, False, True]), ["bool", "number", "text", "choice"]),
        (pd.Series([True, None, False], dtype="boolean"), ["bool", "text"]),
        (pd.Series(pd.to_datetime(["2026-11-20 10:05", None, "1850-01-01"], format="ISO8601")),
         ["datetime", "date", "text", "number"]),
        (pd.Series(pd.to_datetime(["2026-11-20 10:05", None]).tz_localize("Asia/Shanghai")), ["datetime", "text"]),
        (pd.Series([], dtype=object), list(TABLES)),
    ],
    ids=["float", "int64", "Int64", "bool", "boolean", "datetime64", "datetime64-tz", "empty"],
)
def test_typed_columns_agree(series: pd.Series, kinds: list[str]) -> None:
    for kind in kinds:
        assert_agrees(series, kind)


def test_mixed_type_column() -> None:
    """The normal case for an xlsx column: real datetimes, typed text, serials, blanks, junk."""
    cells = [DT, "2026-11-20 10:05", 46346.42, None, "", "明天", pd.Timestamp("2026-11-21 09:00"),
             date(2026, 11, 22), "11月20日 10点半", True, 1, 1.0, np.nan, "2026/11/20 10:05:33", 46346, "  "]
    parsed = parse_series(pd.Series(cells, dtype=object), "datetime", year=YEAR)
    assert parsed.values.tolist()[:3] == [pd.Timestamp(DT)] * 2 + [pd.Timestamp("2026-11-20 10:04:48")]
    assert parsed.bad.tolist() == [False, False, False, False, False, True, False, False, False, True, True,
                                   True, False, False, False, False]
    assert parsed.empty.tolist() == [False, False, False, True, True, False, False, False, False, False, False,
                                     False, True, False, False, True]
    assert_agrees(cells, "datetime")


def test_true_and_one_are_kept_apart() -> None:
    """A hash table sees True == 1 == 1.0; the parsers do not."""
    for kind in ("number", "int", "bool", "text", "datetime"):
        assert_agrees([1, True, 1.0, Decimal(1), False, 0, "1"], kind)


# a column of clean texts is judged on their join; each of these, among clean ones, must still be
# normalised (or, when the join cannot tell, looked at on its own)
CLEAN_TEXTS = ["连衣裙", "A1-02", "订单 123", "\u0301x", "A|B"]
TEXT_TRAPS = ["a| b", "x ", " x", "a  b", "", "ａ", "e\u0301", "x\ufe0f", "a\tb", "a |b", "|", "||", "|x", "x|",
              "\u3000x", "x\u00a0", "\u200b"]


@pytest.mark.parametrize("trap", TEXT_TRAPS, ids=repr)
def test_text_column_with_one_unclean_text_among_clean_ones(trap: str) -> None:
    assert _all_clean_texts(CLEAN_TEXTS)  # alone, the clean ones take the join's path
    for cells in ([*CLEAN_TEXTS, trap, *CLEAN_TEXTS], [trap, *CLEAN_TEXTS], [*CLEAN_TEXTS, trap], [trap]):
        assert_agrees(cells, "text")
        assert_agrees([None, *cells], "text")


def test_clean_text_column_is_its_own_parsed_column() -> None:
    cells = pd.Series(CLEAN_TEXTS * 3 + [None], dtype=object)
    parsed = parse_series(cells, "text", year=YEAR)
    assert not parsed.bad.any() and parsed.empty.tolist() == [False] * 15 + [True]
    assert np.shares_memory(parsed.values.to_numpy(), cells.to_numpy())  # no copy
    assert_agrees(cells, "text")


def test_series_values_and_dtypes() -> None:
    series = pd.Series(["5件", None, "x", "1,299"], index=["a", "b", "c", "d"], name="库存")
    parsed = parse_series(series, "int", year=YEAR)
    assert parsed.values.tolist() == [5, pd.NA, pd.NA, 1299]
    assert parsed.values.name == "库存" and list(parsed.values.index) == ["a", "b", "c", "d"]
    assert parsed.bad.tolist() == [False, False, True, False]
    assert parsed.empty.tolist() == [False, True, False, False]
    skus = parse_series(pd.Series(["A1、A2", None]), "sku_list", year=YEAR).values
    assert skus.tolist() == [("A1", "A2"), None]
    texts = parse_series(pd.Series([" ５件 ", "  "]), "text", year=YEAR).values
    assert texts.tolist() == ["5件", None]


def test_series_kind_errors() -> None:
    with pytest.raises(ValueError, match="unknown column kind 'money'"):
        parse_series(pd.Series(["1"]), "money", year=YEAR)
    with pytest.raises(ValueError, match="needs the list of choices"):
        parse_series(pd.Series(["1"]), "choice", year=YEAR)
    with pytest.raises(ValueError, match="no parse error kind 'text'"):
        error_params("text", "x")


SHAPES = ["{y}-{m}-{d} {H}:{M}:{S}", "{y}-{m}-{d} {H}:{M}", "{y}-{m}-{d}", "{y}-{m}-{d}T{H}:{M}:{S}",
          "{y}/{m}/{d} {H}:{M}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日 {H}:{M}", "{m}-{d} {H}:{M}"]


def _random_datetime_text(rng: random.Random, shape: str) -> str:
    """A date-time in ``shape``; now and then one field is out of range or oddly written."""
    fields = {"y": "2026", "m": f"{rng.randint(1, 12):02d}", "d": f"{rng.randint(1, 28):02d}",
              "H": f"{rng.randint(0, 23):02d}", "M": f"{rng.randint(0, 59):02d}", "S": f"{rng.randint(0, 59):02d}"}
    if rng.random() < 0.3:
        field = rng.choice(list(fields))
        fields[field] = rng.choice({
            "y": ["1899", "1900", "2199", "2200", "1800", "0226", "12026", "26"],
            "m": ["0", "13", "1", "00"], "d": ["0", "31", "32", "29", "1", "00"],
            "H": ["24", "9", " 9", "25"], "M": ["60", "5", "99"], "S": ["60", "61", "5", "59.5", "00Z", "00+08:00"],
        }[field])
    text = shape.format(**fields)
    return text + rng.choice(["", "", "", " ", "pm", "Z"]) if rng.random() < 0.1 else text


@pytest.mark.parametrize("shape", SHAPES)
def test_fuzzed_datetimes_agree(shape: str) -> None:
    rng = random.Random(shape)
    texts = [_random_datetime_text(rng, shape) for _ in range(400)]
    assert_agrees(texts, "datetime")
    assert_agrees(pd.Series(texts, dtype="str"), "date")


def test_fuzzed_mixed_shapes_agree() -> None:
    rng = random.Random(20261120)
    assert_agrees([_random_datetime_text(rng, rng.choice(SHAPES)) for _ in range(2000)], "datetime")


def test_values_the_fast_formats_would_bend_are_refused() -> None:
    traps = ["2026-11-20 10:05:60", "2026-11-20 23:59:61", "1800-01-01 10:00:00", "2200-01-01 00:00:00",
             "0226-11-20 10:00:00", "2026-02-29 10:00:00", "2026/11/20 10:05:60"]
    fine = ["2026-11-20 10:05:33", "2026/11/20 10:05:01"] * 20
    parsed = parse_series(pd.Series(fine + traps), "datetime", year=YEAR)
    assert parsed.bad.tolist() == [False] * len(fine) + [True] * len(traps)


def test_chinese_dates_in_bulk_agree_with_the_scalar_parser() -> None:
    """2026年11月20日 10点05分 has a vectorised pass of its own; impossible days, hours and years
    still go to the scalar parser and are refused there."""
    rng = random.Random(1120)
    texts = [f"{rng.randint(1890, 2110)}年{rng.randint(0, 13)}月{rng.randint(0, 32)}日 "
             f"{rng.randint(0, 25)}点{rng.randint(0, 61):0{rng.randint(1, 2)}d}分" for _ in range(400)]
    texts += [f"{rng.randint(1990, 2100)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日" for _ in range(100)]
    texts += ["0999年11月20日 10点05分", "2026年11月20日10点05分", "2026年11月20日 10点05分30秒", "2026年2月29日",
              "2024年2月29日 23点59分", " 2026年11月20日 10点05分", "２０２６年11月20日"]
    assert_agrees(texts, "datetime")
    assert_agrees(texts, "date")


def test_fuzzed_numbers_agree() -> None:
    rng = random.Random(7)
    pieces = ["1", "0", "9", ".", ",", "-", "+", "e", "E", " ", "¥", "元", "件", "x", "inf", "nan", "_", "５"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    for kind in ("number", "int"):
        assert_agrees(texts, kind)


def test_200k_rows_parse() -> None:
    n_iso, n_serial, n_objects = 150_000, 30_000, 19_000
    base = pd.Timestamp("2026-01-01")
    iso_moments = base + pd.to_timedelta(np.arange(n_iso) * 97, unit="s")
    iso = pd.Series(iso_moments).dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
    serials = (46023 + np.arange(n_serial) / 1440).tolist()  # 2026-01-01 onwards, one minute apart
    objects = [datetime(2026, 6, 1) + timedelta(minutes=i) for i in range(n_objects)]
    odd = ["2026年11月20日 10点05分", "明天", None, "11/20 10:05"] * 250
    cells = iso + serials + objects + odd
    parsed = parse_series(pd.Series(cells, dtype=object), "datetime", year=YEAR)
    values = parsed.values.to_numpy()
    assert len(values) == 200_000
    assert (values[:n_iso] == iso_moments.to_numpy()).all()
    serial_moments = base + pd.to_timedelta(np.arange(n_serial), unit="min")
    assert (values[n_iso:n_iso + n_serial] == serial_moments.to_numpy()).all()
    assert (values[n_iso + n_serial:n_iso + n_serial + n_objects] == np.array(objects, dtype="M8[ns]")).all()
    assert parsed.bad.sum() == 250 and parsed.empty.sum() == 250
    assert values[-4] == np.datetime64("2026-11-20T10:05") and values[-1] == np.datetime64("2026-11-20T10:05")
