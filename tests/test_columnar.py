"""Tabs kept by columns (what the xlsx reader hands over) read, key and bind exactly like tabs
kept by rows."""

from __future__ import annotations

import pickle
import random
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from sheetsync.backends.xlsx_read import tab_columns
from sheetsync.core.binding import bind
from sheetsync.core.model import CellError, Snapshot, TabData, row_keys
from sheetsync.templates import load_template

ROWS = [["SKU", "库存", "备注"], ["A1", 3, None], [" A1 ", 3.0, "x"], [None, None, None], ["B2", None, "y"]]


def _columnar(rows: list[list]) -> TabData:
    width = max(len(r) for r in rows)
    return TabData.from_columns("t", [[r[c] if c < len(r) else None for r in rows] for c in range(width)])


def test_a_columnar_tab_reads_like_the_same_rows() -> None:
    by_rows, by_cols = TabData("t", [list(r) for r in ROWS]), _columnar(ROWS)
    assert by_cols.columnar and by_cols.n_rows == by_rows.n_rows == 5
    for r in range(0, 7):
        assert by_cols.row(r) == by_rows.row(r)
        for c in range(0, 5):
            assert by_cols.cell(r, c) == by_rows.cell(r, c)
    for c in range(1, 5):
        assert list(by_cols.column(c)) == list(by_rows.column(c))
    assert by_cols == by_rows
    assert by_cols.columnar  # reading cells, rows and columns never builds the rows


def test_the_rows_of_a_columnar_tab_read_like_a_list_and_stay_columns() -> None:
    tab = _columnar(ROWS)
    assert tab.rows == ROWS and ROWS == tab.rows and len(tab.rows) == 5 and list(tab.rows) == ROWS
    assert tab.rows[1:3] == ROWS[1:3] and tab.rows[-1] == ROWS[-1] and tab.rows[::2] == ROWS[::2]
    with pytest.raises(IndexError):
        tab.rows[5]
    assert tab.columnar and not hasattr(tab.rows, "append")
    again = replace(tab, fills={(2, 1): "FFC7CE"})  # fills and notes read again: the values are the same object
    assert again.rows is tab.rows and again.columnar and again != tab


def test_a_short_column_reads_empty_below_its_end() -> None:
    tab = TabData.from_columns("t", [["a", "b", "c"], ["x"]])
    assert tab.n_rows == 3 and tab.cell(3, 2) is None and list(tab.column(2)) == ["x", None, None]
    assert tab.rows == [["a", "x"], ["b", None], ["c", None]]


def test_a_columnar_tab_pickles() -> None:
    tab = TabData.from_columns("t", [np.array(["a", None], dtype=object), ["b"]], cell_errors=False)
    back = pickle.loads(pickle.dumps(tab))
    assert back == tab and back.columnar and back.cell_errors is False and back.rows == [["a", "b"], [None, None]]


@pytest.mark.parametrize("seed", range(40))
def test_row_keys_of_columns_are_those_of_the_rows(seed: int) -> None:
    rng = random.Random(seed)
    values = [None, "", " a ", "a", 1, 1.0, True, 0, False, 2.5, datetime(2026, 1, 1, 10, 5),
              datetime(2026, 1, 1, 10, 5, 0, 250), date(2026, 1, 1), "  "]
    width = rng.randint(1, 4)
    rows = [[rng.choice(values) for _ in range(width)] for _ in range(rng.randint(0, 12))]
    keys = tuple(rng.sample(range(0, 5), rng.randint(0, 3)))
    expected = _keys_one_by_one(rows, keys)
    assert row_keys(rows, keys) == expected
    assert row_keys(TabData.from_columns("t", [[r[c] for r in rows] for c in range(width)], len(rows)),
                    keys) == expected


def _keys_one_by_one(rows: list[list], key_cols: tuple[int, ...]) -> dict[int, str]:
    """The rule, written out row by row."""
    import hashlib

    def text(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()

    seen: dict[str, int] = {}
    out = {}
    for i, row in enumerate(rows[1:], start=2):
        parts = [text(row[c - 1]) if c - 1 < len(row) else "" for c in key_cols if c > 0]
        if not any(parts):
            whole = [text(v) for v in row]
            if not any(whole):
                continue
            base = "row:" + hashlib.sha1(" | ".join(whole).encode()).hexdigest()[:12]
        else:
            base = " | ".join(parts)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[i] = base if n == 0 else f"{base}#{n + 1}"
    return out


@pytest.mark.parametrize("seed", range(40))
def test_keys_of_a_time_column_are_made_when_asked_for(seed: int) -> None:
    """A key column of datetimes (and texts that do not read like one) keeps the datetimes
    themselves, not their texts; every key, one at a time or a batch at once, is still the rule's.
    A text that reads like a datetime makes every text at once (it may share a key with one)."""
    from sheetsync.core.model import tab_row_keys

    rng = random.Random(seed)
    moments = [datetime(2026, 1, 1, 10, 5), datetime(2026, 1, 1, 10, 5, 0, 250), datetime(2025, 12, 31, 23, 59, 59)]
    values = [None, "  ", "2026/01/01 10:05", " 王女士 ", *moments, *moments]
    values += rng.choice([[], ["row:1"], ["a | b"], [datetime(1500, 1, 1, 8)]])
    looks_like_one = rng.random() < 0.3
    if looks_like_one:
        values.append(rng.choice([" 2026-01-01 10:05:00", "2026-01-01 10:05:00.000250"]))
    width = rng.randint(1, 3)
    rows = [["h"] * width] + [[rng.choice(values) for _ in range(width)] for _ in range(rng.randint(1, 14))]
    if not looks_like_one:
        rows.append([moments[0]] * width)  # at least one datetime in each column
    key_cols = tuple(range(1, width + 1))
    expected = _keys_one_by_one(rows, key_cols)
    tab = TabData.from_columns("t", [[r[c] for r in rows] for c in range(width)], len(rows))
    keys = tab_row_keys(tab, key_cols)
    assert dict(keys) == expected
    assert [keys.get(r) for r in range(0, len(rows) + 2)] == [expected.get(r) for r in range(0, len(rows) + 2)]
    asked = np.array([r for r in range(0, len(rows) + 2) if rng.random() < 0.7], dtype=np.int64)
    assert keys.at(keys.positions(asked)) == [expected.get(int(r), "") for r in asked]
    kept_as_moments = [any(isinstance(w, datetime) for w in words) for _codes, words in keys._parts]
    lookalikes = (" 2026-01-01 10:05:00", "2026-01-01 10:05:00.000250")
    columns = [[r[c] for r in rows[1:]] for c in range(width)]
    # texts that could make two keys read the same once joined: every text is made, to compare them
    ambiguous = "row:1" in columns[0] or (width > 1 and any("a | b" in c for c in columns))
    assert kept_as_moments == [not ambiguous and any(isinstance(v, datetime) for v in c)
                               and not any(v in lookalikes for v in c) for c in columns]
    assert looks_like_one or ambiguous or all(kept_as_moments)
    assert pickle.loads(pickle.dumps(keys)) == keys


def test_the_reader_helper_converts_trims_and_interns() -> None:
    a1, a2 = "质量" + "问题", "质量问题"[:2] + "问题"  # equal texts, two objects (as a reader returns them)
    assert a1 == a2 and a1 is not a2
    rows = [["类别", "数", "日", ""], [a1, 3.0, date(2026, 1, 2), ""], [a2, 2.5, None, ""], ["", None, None, ""],
            [None, None, None, None]]
    columns, n = tab_columns(rows, {(3, 2): CellError("#N/A")})
    assert n == 3 and len(columns) == 3  # no trailing empty row nor column
    assert all(isinstance(c, np.ndarray) and c.dtype == object for c in columns)
    assert columns[0].tolist() == ["类别", "质量问题", "质量问题"] and columns[0][1] is columns[0][2]
    assert columns[1].tolist() == ["数", 3, CellError("#N/A")] and type(columns[1][1]) is int
    assert columns[2].tolist() == ["日", datetime(2026, 1, 2), None]
    columns, n = tab_columns([["x"]], skip=2)  # the reader's first column is C
    assert n == 1 and [c.tolist() for c in columns] == [[None], [None], ["x"]]
    assert tab_columns([]) == ([], 0)


def _as_read_one_by_one(v):
    """What a cell reads as, in sheetsync's terms (the reference the reader helper must agree with)."""
    if isinstance(v, str):
        return v or None
    if type(v) is float and v.is_integer():
        return int(v)
    if type(v) is date:
        return datetime.combine(v, datetime.min.time())
    return v


@pytest.mark.parametrize("column", [
    ["质量问题", "差评", "".join(["质量", "问题"]), ""] * 3,  # texts only (equal texts, two objects), empty ones
    ["x", "y"],  # texts only, none empty
    [datetime(2026, 1, 2, 9), "", datetime(2026, 1, 3), "晚点回复"],  # date-times and texts
    [datetime(2026, 1, 2, 9), True, 7],  # nothing to convert
    [3.0, 2.5, "", "三"],  # numbers and texts
    [date(2026, 1, 2), "", datetime(2026, 1, 2, 8)],  # a date cell beside date-times
    [datetime(2026, 1, 2, 9), datetime(2026, 1, 2, 9), date(2026, 1, 2), datetime(2026, 1, 2)],  # equal moments
    [datetime(2026, 1, 2, 9), None, datetime(2026, 1, 2, 9), 2.0],  # the same, cell by cell
])
def test_the_reader_helper_reads_each_kind_of_column_as_cell_by_cell(column) -> None:
    rows = [["头"]] + [[v] for v in column] + [["尾"]]
    columns, n = tab_columns(rows)
    got = columns[0].tolist()
    expected = [_as_read_one_by_one(r[0]) for r in rows]
    assert n == len(rows) and got == expected
    assert [type(v) for v in got] == [type(v) for v in expected]
    texts = [v for v in got if isinstance(v, (str, datetime))]
    assert len({id(v) for v in texts}) == len(set(texts))  # equal texts (and date-times) are one object


def test_a_columnar_snapshot_binds_like_the_same_rows() -> None:
    template = load_template("zh-CN")
    rows = [["标题 2026"], ["SKU", "商品名称", "库存", "最低价", "更新时间"], ["A1", "戒指", "5件", 199, "2026/11/20 10:05"],
            ["A1", "耳钉", "三", None, datetime(2026, 11, 20, 9)], [None, None, None, None], ["B2", "手链", -1, "¥99"],
            ["C3", None, CellError("#DIV/0!"), 10, "11-20"]]
    merged = [(6, 2, 7, 2)]
    by_rows = bind(Snapshot({"库存": TabData("库存", [list(r) for r in rows], merged=merged)}, "t"), template, year=2026)
    width = max(map(len, rows))
    columns = [[r[c] if c < len(r) else None for r in rows] for c in range(width)]
    by_cols = bind(Snapshot({"库存": TabData.from_columns("库存", columns, merged=merged)}, "t"), template, year=2026)
    a, b = by_rows.tab("inventory"), by_cols.tab("inventory")
    assert a.header_row == b.header_row == 2 and a.keys == b.keys and a.usable and b.usable
    pd.testing.assert_frame_equal(a.raw, b.raw)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.bad, b.bad)
    assert sorted(map(repr, a.findings)) == sorted(map(repr, b.findings))
    assert {f.code for f in b.findings} >= {"parse.int", "cell.formula_error", "column.min", "column.unique",
                                            "layout.merged"}
    assert list(b.raw.index) == [3, 4, 6, 7] and b.raw.loc[7, "product"] == "手链"  # the merge fills B7 from B6
    assert b.frame.loc[7, "updated"] == pd.Timestamp(2026, 11, 20)


def test_a_finding_is_built_as_the_dataclass_declares_it() -> None:
    from dataclasses import fields

    from sheetsync.core.model import PRIORITY_ACT, Finding

    f = Finding("t", 2, "c", 3, "v", "code", "")
    assert [(x.name, getattr(f, x.name)) for x in fields(Finding)] == [
        ("tab", "t"), ("row", 2), ("column", "c"), ("col", 3), ("value", "v"), ("code", "code"), ("message", ""),
        ("row_key", ""), ("owner_role", ""), ("job", "validate"), ("paint", True), ("tab_id", ""),
        ("column_id", ""), ("params", {}), ("severity", "error"), ("deadline", None), ("owners", ()),
        ("priority", PRIORITY_ACT)]
    assert Finding("t", 2, "c", 3, "v", "code", "").params is not f.params  # a dict of its own
    g = replace(f, owners=("王芳",), params={"a": 1})
    assert g.owners == ("王芳",) and g.params == {"a": 1} and g == replace(f, owners=("王芳",))  # params not compared
    assert hash(g) == hash(replace(f, owners=("王芳",))) and pickle.loads(pickle.dumps(g)) == g
    with pytest.raises(AttributeError):
        f.row = 3  # type: ignore[misc]


def _cells_and_types(tab: TabData) -> list[list[tuple[type, object]]]:
    return [[(type(v), v) for v in column] for column in tab.rows.columns]


@pytest.mark.parametrize("name, column", [
    ("a date column, some typed as text", [datetime(2026, 11, 20, 9, 30, 15, 123456) if i % 7 else "11-20"
                                           for i in range(600)]),
    ("forever and the first day", [datetime(9999, 12, 31) if i % 2 else datetime(1, 1, 1) for i in range(600)]),
    ("times, blanks and numbers", [datetime(2026, 1, 1, i % 24) if i % 3 else (None if i % 2 else i)
                                   for i in range(600)]),
    ("a second that happens twice", [datetime(2026, 11, 1, 1, 30, fold=i % 2) for i in range(600)]),
    ("dates, not times", [date(2026, 11, i % 28 + 1) for i in range(600)]),
    ("a few times only", [datetime(2026, 1, 1)] * 10 + ["x"] * 590),
])
def test_a_columnar_tab_pickles_its_times_exactly(name: str, column: list) -> None:
    """The read cache pickles a tab's times as one array per column: every cell comes back
    equal and of its own type (text stays text, a date a date), whatever else the column holds."""
    tab = TabData.from_columns("t", [np.array(column, dtype=object), np.array(["x"] * 600, dtype=object)])
    back = pickle.loads(pickle.dumps(tab, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == tab and _cells_and_types(back) == _cells_and_types(tab)
    assert [getattr(v, "fold", 0) for v in back.rows.columns[0]] == [getattr(v, "fold", 0) for v in column]


def test_times_with_a_time_zone_are_pickled_as_they_are() -> None:
    from datetime import timezone

    column = np.array([datetime(2026, 11, 20, 9, tzinfo=timezone.utc)] * 300, dtype=object)
    back = pickle.loads(pickle.dumps(TabData.from_columns("t", [column])))
    assert [v.tzinfo for v in back.rows.columns[0]] == [timezone.utc] * 300
