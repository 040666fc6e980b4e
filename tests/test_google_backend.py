"""The google backend against the fake Sheets API, through the real gspread + google-auth clients
(service-account JWT flow, HTTP on loopback)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from google.auth.transport.requests import AuthorizedSession

from fake_sheets import DROP, LOST, CellError, DiscoveryValidator, Failure, Formula, start_fake_sheets
from sheetsync.backends import google as google_backend
from sheetsync.backends.base import ColumnLayout, TabLayout
from sheetsync.backends.google import GoogleBackend, parse_spreadsheet_id
from sheetsync.backends.google_transport import BACKOFF_MAX, load_key, make_credentials
from sheetsync.errors import BackendError, ConfigError
from sheetsync.i18n import set_language
from sheetsync.core.model import CellError as ReadError  # what the backend reads (fake_sheets: what it serves)
from sheetsync.core.model import (MARK_FILL, AppendRows, ChangeSet, ChartSpec, FillValue, Paint, ReplaceTab, Unpaint,
                             row_keys)

TAB = "售后纠纷"
HEADER = ["订单号", "客户", "接诉时间", "问题类别", "负责人", "状态"]
KEYS = {TAB: (1,)}
NOTE = "【sheetsync】首次回复超过 10 分钟, 请尽快回复客户"
URL_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"


def dispute_rows(n: int) -> list[list]:
    """Header + n disputes; order A1001 is on sheet row 2, A1002 on row 3, ..."""
    start = datetime(2026, 5, 4, 9, 0)
    return [HEADER] + [[f"A{1000 + i}", f"客户{i}", start + timedelta(minutes=7 * i),
                        "物流问题" if i % 2 else "质量问题", "王芳" if i % 3 else None, "处理中"]
                       for i in range(1, n + 1)]


def key_of(snapshot, row: int, tab: str = TAB) -> str:
    """The row key the planner would give this row (key column: 订单号)."""
    return row_keys(snapshot.tab(tab).rows, (1,))[row]


def row_of(fake, order: str, tab: str = TAB) -> int:
    return next(i for i, r in enumerate(fake.tab(tab).rows, start=1) if r and r[0] == order)


CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
pytestmark = pytest.mark.usefixtures("chinese")


@pytest.fixture
def fake():
    with start_fake_sheets() as f:
        yield f


@pytest.fixture
def disputes(fake):
    fake.model.add_tab(TAB, dispute_rows(6))
    return fake


# ---- read ---------------------------------------------------------------------------------


def test_read_gives_python_values_fills_notes_merges_in_one_request(fake):
    fake.model.add_tab("客服台账", [
        ["订单号", "接诉时间", "回复时间", "金额", "比例", "已解决", "合计", "校验"],
        ["A1001", datetime(2026, 5, 1, 10, 30), time(9, 30), 12.5, 0.25, True,
         Formula("=D2*2", 25), Formula("=VLOOKUP(A2,X:Y,2,0)", CellError("N_A"))],
        ["A1002", date(2026, 5, 2), None, 3, None, False, None, None],
    ], fills={(2, 1): MARK_FILL, (3, 2): "theme:ACCENT1", (3, 1): "FFFFFF"},
        notes={(2, 1): NOTE, (3, 4): "王芳: 运费还没退"})
    fake.model.add_tab("状态", [["键", "值"], ["marks", "{}"]], hidden=True)
    fake.model.add_tab("周报", [["周", "选品合格率"], ["第18周", 0.9]], merges=[(1, 1, 1, 2)])

    snapshot = fake.backend().read()

    tab = snapshot.tab("客服台账")
    assert tab.rows == [
        ["订单号", "接诉时间", "回复时间", "金额", "比例", "已解决", "合计", "校验"],
        ["A1001", datetime(2026, 5, 1, 10, 30), time(9, 30), 12.5, 0.25, True, 25, ReadError("#N/A")],
        ["A1002", date(2026, 5, 2), None, 3, None, False, None, None],
    ]
    assert [type(v) for v in tab.rows[2][:4]] == [str, date, type(None), int]
    assert tab.fills == {(2, 1): MARK_FILL, (3, 2): "theme:ACCENT1"}
    assert tab.notes == {(2, 1): NOTE, (3, 4): "王芳: 运费还没退"}
    assert (tab.sheet_id, tab.hidden) == (0, False)
    assert snapshot.tab("状态").hidden is True
    assert snapshot.tab("周报").merged == [(1, 1, 1, 2)]
    assert snapshot.tab("状态").sheet_id == fake.model.sheet("状态").sheet_id
    assert (snapshot.source, snapshot.version) == ("Google 表格 店铺运营表", None)
    assert fake.kinds() == ["get"]
    assert fake.scopes == ["https://www.googleapis.com/auth/spreadsheets"]


def test_describe_names_the_title_once_read(disputes):
    backend = disputes.backend()
    assert backend.describe() == f"Google 表格 {disputes.spreadsheet_id}"
    backend.read()
    assert backend.describe() == "Google 表格 店铺运营表"


@pytest.mark.parametrize("text, expected", [
    (URL_ID, URL_ID),
    (f"https://docs.google.com/spreadsheets/d/{URL_ID}/edit#gid=0", URL_ID),
    (f"  https://docs.google.com/spreadsheets/d/{URL_ID}/edit?usp=sharing ", URL_ID),
])
def test_spreadsheet_id_or_url(text, expected):
    assert parse_spreadsheet_id(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("https://example.com/not-a-sheet", "看不懂表格网址"),
    ("my shop sheet", "不是 Google 表格 ID"),
])
def test_bad_spreadsheet_id_says_what_to_paste(text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_spreadsheet_id(text)


# ---- apply --------------------------------------------------------------------------------


def test_apply_paints_unpaints_fills_and_leaves_peoples_marks_alone(fake):
    fake.model.add_tab(TAB, dispute_rows(6), fills={(4, 2): MARK_FILL, (5, 2): "FFFF00"},
                       notes={(4, 2): "【sheetsync】旧问题", (5, 4): "王芳: 客户说下午再联系"})
    backend = fake.backend()
    snap = backend.read()
    changes = ChangeSet(
        paints=[Paint(TAB, 2, 3, key_of(snap, 2), NOTE)],
        unpaints=[Unpaint(TAB, 4, 2, key_of(snap, 4))],
        fills=[FillValue(TAB, 4, 5, key_of(snap, 4), "李雷")],
        key_columns=KEYS,
    )

    result = backend.apply(changes, snap)

    tab = fake.tab(TAB)
    assert tab.fills == {(2, 3): MARK_FILL, (5, 2): "FFFF00"}
    assert tab.notes == {(2, 3): NOTE, (5, 4): "王芳: 客户说下午再联系"}
    assert tab.cell(4, 5) == "李雷"
    assert tab.rows[1:] == [r if i != 2 else r[:4] + ["李雷"] + r[5:] for i, r in enumerate(dispute_rows(6)[1:])]
    assert (result.written, result.skipped, result.requests) == (3, [], 2)
    assert fake.kinds() == ["get", "get", "batchUpdate"]


def test_writes_use_background_color_style_never_the_deprecated_field(disputes):
    backend = disputes.backend()
    snap = backend.read()
    backend.apply(ChangeSet(paints=[Paint(TAB, 3, 2, key_of(snap, 3), NOTE)], key_columns=KEYS), snap)
    body = json.dumps(disputes.bodies("batchUpdate"))
    assert '"backgroundColorStyle"' in body
    assert '"backgroundColor"' not in body


def test_nothing_changed_means_no_request_at_all(disputes):
    backend = disputes.backend()
    snap = backend.read()
    result = backend.apply(ChangeSet(key_columns=KEYS), snap)
    assert (result.written, result.requests) == (0, 0)
    assert disputes.kinds() == ["get"]


@pytest.mark.parametrize("n_rows, n_tabs", [(1000, 1), (5000, 1), (1000, 3)])
def test_requests_per_run_do_not_grow_with_rows_or_tabs(fake, n_rows, n_tabs):
    titles = [f"{TAB}{i}" for i in range(n_tabs)]
    for title in titles:
        fake.model.add_tab(title, dispute_rows(n_rows))
    backend = fake.backend()
    snap = backend.read()
    keys = {t: (1,) for t in titles}
    row_key = {t: row_keys(snap.tab(t).rows, (1,)) for t in titles}
    bad_rows = range(2, n_rows + 2, 10)  # 10% of the rows
    changes = ChangeSet(
        paints=[Paint(t, r, 3, row_key[t][r], NOTE) for t in titles for r in bad_rows],
        tabs=[ReplaceTab("问题清单", (("表", "行"),) + tuple((t, r) for t in titles for r in bad_rows))],
        appends=[AppendRows("运行记录", ("时间", "任务"), ((datetime(2026, 5, 4, 9, 15), "validate"),))],
        key_columns=keys,
    )

    result = backend.apply(changes, snap)

    assert fake.kinds() == ["get", "get", "batchUpdate"]
    assert result.requests == 2
    assert result.written == changes.count()
    assert len(fake.tab(titles[-1]).fills) == len(bad_rows)
    assert fake.tab("问题清单").n_rows == 1 + n_tabs * len(bad_rows)


def test_a_huge_change_set_is_sent_in_a_few_batches(disputes, monkeypatch):
    monkeypatch.setattr(google_backend, "MAX_BATCH_BYTES", 2_000)
    backend = disputes.backend()
    snap = backend.read()
    paints = [Paint(TAB, r, c, key_of(snap, r), NOTE) for r in range(2, 8) for c in range(2, 7)]
    result = backend.apply(ChangeSet(paints=paints, key_columns=KEYS), snap)
    assert disputes.count("batchUpdate") == result.requests - 1 > 1
    assert len(disputes.tab(TAB).fills) == len(paints)


# ---- people editing between the read and the write ---------------------------------------


def _sort_descending(model):
    model.sort_rows(TAB, 1, reverse=True)


def _insert_row_at_2(model):
    model.insert_rows(TAB, 2)


def _delete_row_2(model):
    model.delete_rows(TAB, 2)


@pytest.mark.parametrize("edit", [_sort_descending, _insert_row_at_2, _delete_row_2])
def test_marks_follow_their_row_when_rows_move(disputes, edit):
    disputes.model.set_fill(TAB, 6, 2, MARK_FILL)
    disputes.model.set_note(TAB, 6, 2, "【sheetsync】旧问题")
    backend = disputes.backend()
    snap = backend.read()
    changes = ChangeSet(paints=[Paint(TAB, 4, 3, key_of(snap, 4), NOTE)],  # A1003
                        unpaints=[Unpaint(TAB, 6, 2, key_of(snap, 6))],  # A1005
                        key_columns=KEYS)
    disputes.before_request(disputes.request_count + 1, edit)

    result = backend.apply(changes, snap)

    tab = disputes.tab(TAB)
    assert tab.fills == {(row_of(disputes, "A1003"), 3): MARK_FILL}
    assert tab.notes == {(row_of(disputes, "A1003"), 3): NOTE}
    assert result.skipped == []


def test_a_deleted_row_is_skipped_and_said_so(disputes):
    backend = disputes.backend()
    snap = backend.read()
    changes = ChangeSet(paints=[Paint(TAB, 3, 3, key_of(snap, 3), NOTE), Paint(TAB, 5, 3, key_of(snap, 5), NOTE)],
                        key_columns=KEYS)
    disputes.before_request(disputes.request_count + 1, lambda m: m.delete_rows(TAB, 3))

    result = backend.apply(changes, snap)

    assert [str(s) for s in result.skipped] == [
        f"「{TAB}」C3: 这一行在读取后被删除或改动了, 这次没有标红, 下次运行会重新检查"]
    assert result.written == 1
    assert disputes.tab(TAB).fills == {(row_of(disputes, "A1004"), 3): MARK_FILL}


def test_a_value_typed_meanwhile_is_never_overwritten(disputes):
    backend = disputes.backend()
    snap = backend.read()
    assert snap.tab(TAB).cell(4, 5) is None and snap.tab(TAB).cell(7, 5) is None
    changes = ChangeSet(fills=[FillValue(TAB, r, 5, key_of(snap, r), "李雷") for r in (4, 7)], key_columns=KEYS)
    disputes.before_request(disputes.request_count + 1, lambda m: m.set_value(TAB, 4, 5, "张伟"))

    result = backend.apply(changes, snap)

    assert [str(s) for s in result.skipped] == [f"「{TAB}」E4 已经有人填了「张伟」, 没有写入「李雷」"]
    assert (disputes.tab(TAB).cell(4, 5), disputes.tab(TAB).cell(7, 5)) == ("张伟", "李雷")


def test_rows_without_a_key_are_followed_by_their_content(disputes):
    disputes.model.set_value(TAB, 8, 2, "没写订单号的客户")
    backend = disputes.backend()
    snap = backend.read()
    key = key_of(snap, 8)
    assert key.startswith("row:")
    disputes.before_request(disputes.request_count + 1, _insert_row_at_2)

    backend.apply(ChangeSet(paints=[Paint(TAB, 8, 1, key, "【sheetsync】缺订单号")], key_columns=KEYS), snap)

    assert disputes.tab(TAB).fills == {(9, 1): MARK_FILL}  # the row moved down by the inserted one


# ---- job-owned tabs -----------------------------------------------------------------------


def test_text_that_looks_like_a_formula_stays_text(fake):
    backend = fake.backend()
    snap = backend.read()
    formula = '=IMPORTXML("http://x","//a")'
    backend.apply(ChangeSet(tabs=[ReplaceTab("问题清单", (("表", "问题"), (TAB, formula)))]), snap)
    assert fake.model.cell("问题清单", 2, 2)["userEnteredValue"] == {"stringValue": formula}
    assert fake.tab("问题清单").cell(2, 2) == formula
    assert "formulaValue" not in json.dumps(fake.bodies("batchUpdate"))


def test_new_job_owned_tab_is_protected_grey_frozen_bold_and_charted(fake):
    backend = fake.backend()
    snap = backend.read()
    chart = ChartSpec(title="周报趋势", cat_col=1, value_cols=(2, 3), first_row=2, last_row=3, anchor="E2")
    tab = ReplaceTab("周报", (("周", "选品合格率", "售后解决率"), ("第18周", 0.9, 0.5), ("第19周", 0.8, 1.0)),
                     column_widths=(10, 12, 12), chart=chart, number_formats=((2, "0.0%"), (3, "0.0%")),
                     wrap_columns=(1,))

    log_row = AppendRows("运行记录", ("时间", "任务"), (("09:15", "validate"),))
    backend.apply(ChangeSet(tabs=[tab], appends=[log_row]), snap)

    sheet = fake.model.sheet("周报")
    assert fake.tab("周报").rows == [list(r) for r in tab.rows]
    assert sheet.props["gridProperties"]["frozenRowCount"] == 1
    assert fake.model.cell("周报", 1, 2)["userEnteredFormat"]["textFormat"] == {"bold": True}
    assert fake.model.cell("周报", 2, 2)["userEnteredFormat"]["numberFormat"] == {"type": "PERCENT", "pattern": "0.0%"}
    assert fake.model.cell("周报", 2, 1)["userEnteredFormat"]["wrapStrategy"] == "WRAP"  # long texts wrap
    assert "wrapStrategy" not in fake.model.cell("周报", 2, 2).get("userEnteredFormat", {})
    assert [p["warningOnly"] for p in sheet.protected] == [True]
    assert fake.tab("周报").sheet_id == sheet.sheet_id
    assert "tabColorStyle" in sheet.props
    assert sheet.dimensions[("COLUMNS", 0)] == {"pixelSize": 80}
    [embedded] = sheet.charts
    assert embedded["spec"]["basicChart"]["chartType"] == "LINE"
    assert len(embedded["spec"]["basicChart"]["series"]) == 2
    assert fake.tab("运行记录").rows == [["时间", "任务"], ["09:15", "validate"]]
    assert [p["warningOnly"] for p in fake.model.sheet("运行记录").protected] == [True]


def test_rewriting_a_job_owned_tab_clears_old_rows_and_replaces_its_chart(fake):
    backend = fake.backend()
    chart = ChartSpec(title="趋势", cat_col=1, value_cols=(2,), first_row=2, last_row=4, anchor="D2")
    old = ReplaceTab("周报", (("周", "率"), ("第17周", 0.5), ("第18周", 0.6), ("第19周", 0.7)), chart=chart)
    backend.apply(ChangeSet(tabs=[old]), backend.read())
    fake.model.set_value("周报", 10, 1, "有人在下面写了字")
    old_chart = fake.model.sheet("周报").charts[0]["chartId"]

    new = ReplaceTab("周报", (("周", "率"), ("第19周", 0.7)), chart=replace(chart, last_row=2))
    result = backend.apply(ChangeSet(tabs=[new]), backend.read())

    assert fake.tab("周报").rows == [["周", "率"], ["第19周", 0.7]]
    [embedded] = fake.model.sheet("周报").charts
    assert embedded["chartId"] != old_chart
    assert result.requests == 2


def test_appending_to_an_existing_log_adds_rows_at_the_end(fake):
    fake.model.add_tab("运行记录", [["时间", "任务"], ["09:00", "validate"]])
    backend = fake.backend()
    rows = (("09:15", "validate"), ("09:30", "weekly"))
    backend.apply(ChangeSet(appends=[AppendRows("运行记录", ("时间", "任务"), rows)]), backend.read())
    assert fake.tab("运行记录").rows == [["时间", "任务"], ["09:00", "validate"], *map(list, rows)]
    assert fake.kinds() == ["get", "batchUpdate"]


# ---- init ---------------------------------------------------------------------------------


LAYOUT = [
    TabLayout("售后纠纷", (ColumnLayout("订单号", width=14),
                       ColumnLayout("问题类别", choices=("质量问题", "物流问题", "客户原因")),
                       ColumnLayout("接诉时间", number_format="yyyy-mm-dd hh:mm", note="客户第一次联系的时间"))),
    TabLayout("设置", (ColumnLayout("项目"), ColumnLayout("值")), rows=(("时区", "Asia/Shanghai"),)),
    TabLayout("问题清单", (ColumnLayout("表"), ColumnLayout("问题")), job_owned=True),
]


def test_init_lays_out_missing_tabs_and_leaves_existing_ones_alone(fake):
    fake.model.add_tab("设置", [["项目", "值"], ["时区", "Europe/Berlin"]])
    result = fake.backend().init_layout(LAYOUT)

    assert (result.created, result.kept) == (["售后纠纷", "问题清单"], ["设置"])
    assert fake.tab("设置").rows == [["项目", "值"], ["时区", "Europe/Berlin"]]
    assert fake.tab("售后纠纷").rows == [["订单号", "问题类别", "接诉时间"]]
    assert fake.tab("售后纠纷").notes == {(1, 3): "客户第一次联系的时间"}
    disputes = fake.model.sheet("售后纠纷")
    assert disputes.props["gridProperties"]["frozenRowCount"] == 1
    assert disputes.dimensions[("COLUMNS", 0)] == {"pixelSize": 112}
    choices = [{"userEnteredValue": v} for v in ("质量问题", "物流问题", "客户原因")]
    assert fake.model.cell("售后纠纷", 2, 2)["dataValidation"] == {
        "condition": {"type": "ONE_OF_LIST", "values": choices}, "strict": False, "showCustomUi": True}
    assert fake.model.cell("售后纠纷", 2, 3)["userEnteredFormat"]["numberFormat"]["type"] == "DATE_TIME"
    assert fake.model.sheet("问题清单").protected[0]["warningOnly"] is True
    assert disputes.protected == []
    assert fake.kinds() == ["get", "batchUpdate"]


def test_init_on_a_complete_spreadsheet_writes_nothing(fake):
    for layout in LAYOUT:
        fake.model.add_tab(layout.title, [[c.header for c in layout.columns]])
    result = fake.backend().init_layout(LAYOUT)
    assert result.created == []
    assert fake.kinds() == ["get"]


# ---- retries, timeouts, failures ----------------------------------------------------------


def test_429_twice_then_success_honours_retry_after(disputes):
    disputes.inject_errors(Failure(429, retry_after=3), Failure(429, retry_after=3))
    snap = disputes.backend().read()
    assert snap.tab(TAB).n_rows == 7
    assert disputes.sleeps == [3, 3]
    assert disputes.kinds() == ["get", "get", "get"]


def test_a_dropped_connection_is_retried(disputes):
    disputes.inject_errors(DROP)
    assert disputes.backend().read().tab(TAB).n_rows == 7
    assert disputes.count("get") == 2


def test_a_hanging_server_times_out_and_is_retried(disputes):
    disputes.inject_errors(Failure(stall=2.0))
    assert disputes.backend(timeout=0.2).read().tab(TAB).n_rows == 7
    assert disputes.count("get") == 2


def test_a_write_refused_with_500_is_checked_then_sent_again(disputes):
    backend = disputes.backend()
    snap = backend.read()
    disputes.inject_errors(500, on="batchUpdate")
    backend.apply(ChangeSet(paints=[Paint(TAB, 3, 3, key_of(snap, 3), NOTE)], key_columns=KEYS), snap)
    assert disputes.kinds() == ["get", "get", "batchUpdate", "get", "batchUpdate"]  # read back before resending
    assert disputes.tab(TAB).fills == {(3, 3): MARK_FILL}


def test_503_forever_gives_up_after_the_bound_and_leaves_the_sheet_as_it_was(disputes):
    backend = disputes.backend(max_retries=6)
    snap = backend.read()
    before = disputes.snapshot()
    disputes.fail_always(503, on="batchUpdate")
    changes = ChangeSet(paints=[Paint(TAB, 3, 3, key_of(snap, 3), NOTE)], tabs=[ReplaceTab("问题清单", (("表",),))],
                        key_columns=KEYS)

    with pytest.raises(BackendError, match=r"HTTP 503\), 重试 6 次后仍失败。表格没有被修改"):
        backend.apply(changes, snap)

    assert disputes.count("batchUpdate") == 7
    assert disputes.snapshot() == before
    assert len(disputes.sleeps) == 6
    for n, slept in enumerate(disputes.sleeps, start=1):
        assert 2 ** (n - 1) <= slept <= min(2 ** (n - 1) + 1, BACKOFF_MAX)


def test_quota_exhausted_after_retries_says_try_later(disputes):
    disputes.fail_always(429)
    with pytest.raises(BackendError, match="配额用完了 .*请过几分钟再运行"):
        disputes.backend(max_retries=2).read()
    assert disputes.count("get") == 3


def test_a_connection_lost_during_the_write_is_not_blindly_repeated(disputes):
    backend = disputes.backend()
    snap = backend.read()
    disputes.inject_errors(DROP, on="batchUpdate")  # lost before Google applied it: read back, then sent again
    backend.apply(ChangeSet(appends=[AppendRows(TAB, tuple(HEADER), (("A2000",),))]), snap)
    assert disputes.kinds() == ["get", "batchUpdate", "get", "batchUpdate"]
    assert [r[0] for r in disputes.tab(TAB).rows].count("A2000") == 1


@pytest.mark.parametrize("failure", [LOST, Failure(500, applied=True), Failure(503, applied=True)])
def test_a_write_applied_whose_answer_was_lost_is_not_sent_again(disputes, failure):
    backend = disputes.backend()
    snap = backend.read()
    disputes.inject_errors(failure, on="batchUpdate")
    result = backend.apply(ChangeSet(appends=[AppendRows(TAB, tuple(HEADER), (("A2000",),))]), snap)
    assert disputes.kinds() == ["get", "batchUpdate", "get"]
    assert [r[0] for r in disputes.tab(TAB).rows].count("A2000") == 1
    assert result.written == 1


def test_a_write_that_cannot_be_confirmed_says_so_and_is_not_sent_again(disputes):
    backend = disputes.backend(max_retries=0)
    snap = backend.read()
    disputes.inject_errors(Failure(500, applied=True), on="batchUpdate")
    disputes.inject_errors(503, on="get")  # the read back fails too
    with pytest.raises(BackendError, match="HTTP 500.*无法确认这次修改是否已写入.*不会重复写入"):
        backend.apply(ChangeSet(appends=[AppendRows(TAB, tuple(HEADER), (("A2000",),))]), snap)
    assert disputes.count("batchUpdate") == 1
    assert [r[0] for r in disputes.tab(TAB).rows].count("A2000") == 1


def test_batch_update_is_never_retried_by_the_http_layer_on_5xx():
    from sheetsync.backends.google_transport import make_retry

    retry = make_retry(6, lambda s: None)
    assert not retry.is_retry("POST", 500) and not retry.is_retry("POST", 503)
    assert retry.is_retry("POST", 429) and retry.is_retry("GET", 503)


def _unshare(fake):
    fake.unshare()


def _disable_api(fake):
    fake.api_enabled = False


def _revoke_key(fake):
    fake.revoke_key()


@pytest.mark.parametrize("setup, spreadsheet, error, fragments", [
    (_unshare, None, ConfigError, ["表格没有共享给服务账号 sheetsync-bot@shop-sync-test.iam.gserviceaccount.com",
                                   "「共享」里把它加为编辑者"]),
    (None, URL_ID, ConfigError, [f"找不到 ID 为 {URL_ID} 的 Google 表格"]),
    (_disable_api, None, ConfigError, ["项目 shop-sync-test 还没有启用 Google Sheets API",
                                       "sheets.googleapis.com?project=shop-sync-test"]),
    (_revoke_key, None, ConfigError, ["Google 拒绝了服务账号密钥", "Invalid JWT Signature", "创建新密钥"]),
])
def test_real_life_failures_name_the_fix(disputes, setup, spreadsheet, error, fragments):
    if setup:
        setup(disputes)
    backend = disputes.backend(spreadsheet=spreadsheet or disputes.spreadsheet_id)
    with pytest.raises(error) as caught:
        backend.read()
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_unreachable_endpoint_says_check_the_network(disputes):
    with pytest.raises(BackendError, match="连不上 Google 表格 .*请检查网络或代理"):
        disputes.backend(endpoint="http://127.0.0.1:9", max_retries=1).read()


# ---- configuration: key file and endpoint -------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "key.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("content, fragments", [
    (None, ["服务账号密钥文件", "不存在 (来自sheetsync.toml 的 [google] credentials)"]),
    ('{"type": "service_account", "client_email": ', ["不是有效的 JSON", "重新下载"]),
    ('{"installed": {"client_id": "x"}}', ["不是服务账号密钥", "OAuth 客户端文件"]),
    ('{"type": "authorized_user"}', ["不是服务账号密钥", "'authorized_user'"]),
    ('{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com"}', ["缺少字段 private_key, token_uri"]),
    ('{"type": "service_account", "client_email": "a@b", "private_key": "garbage", "token_uri": "http://x"}',
     ["private_key 无法使用"]),
])
def test_key_file_problems_name_the_file_and_the_fix(tmp_path, content, fragments):
    path = tmp_path / "missing.json" if content is None else _write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        GoogleBackend(URL_ID, credentials_path=path)
    assert str(path) in str(caught.value)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_the_example_key_file_has_the_real_shape_and_is_refused_clearly(fake):
    example = Path(__file__).resolve().parents[1] / "credentials.example.json"
    assert set(json.loads(example.read_text(encoding="utf-8"))) == set(fake.key_info())
    with pytest.raises(ConfigError, match=f"服务账号密钥文件 {example} 里的 private_key 无法使用"):
        GoogleBackend(URL_ID, credentials_path=example)


def test_key_found_through_google_application_credentials(disputes, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(disputes.key_file))
    backend = GoogleBackend(disputes.spreadsheet_id, endpoint=disputes.endpoint)
    assert backend.read().tab(TAB).n_rows == 7


def test_key_found_in_gspreads_default_location_and_endpoint_from_env(disputes, monkeypatch, tmp_path):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".config" / "gspread").mkdir(parents=True)
    shutil.copy(disputes.key_file, tmp_path / ".config" / "gspread" / "service_account.json")
    monkeypatch.setenv("SHEETSYNC_GOOGLE_ENDPOINT", disputes.endpoint)
    assert GoogleBackend(disputes.spreadsheet_id).read().tab(TAB).n_rows == 7


def test_no_key_anywhere_lists_the_three_places(monkeypatch, tmp_path):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        GoogleBackend(URL_ID)
    message = str(caught.value)
    for fragment in ("找不到 Google 服务账号密钥文件", "credentials =", "GOOGLE_APPLICATION_CREDENTIALS",
                     str(tmp_path / ".config" / "gspread" / "service_account.json")):
        assert fragment in message


def test_endpoint_must_be_a_url(disputes):
    with pytest.raises(ConfigError, match="google.endpoint 应该是以 https:// 开头的网址"):
        disputes.backend(endpoint="sheets.internal:8080")


# ---- the fake itself: discovery validation ------------------------------------------------


@pytest.mark.parametrize("body, fragment", [
    ({"requests": [{"updateCells": {"start": {"sheetId": 0}, "fields": "note", "rowz": []}}]},
     "requests[0].updateCells.rowz: unknown field (did you mean 'rows'?)"),
    ({"requests": [{"repeatCell": {"range": {"sheetId": 0}, "fields": "userEnteredFormat.backgroundColor",
                                   "cell": {"userEnteredFormat": {"backgroundColor": {"red": 1}}}}}]},
     "userEnteredFormat.backgroundColor: field is deprecated"),
    ({"requests": [{"setDataValidation": {"range": {"sheetId": 0}, "rule": {"condition": {"type": "ONE_OF_LISTS"}}}}]},
     "'ONE_OF_LISTS' is not one of"),
    ({"requests": [{"addSheet": {"properties": {"gridProperties": {"rowCount": "many"}}}}]},
     "rowCount: expected an integer"),
    ({"requests": [{"updateCells": {"start": {"sheetId": 0}, "fields": "note", "rows": {"values": []}}}]},
     "rows: expected a list"),
    ({"requests": "addSheet"}, "requests: expected a list"),
])
def test_validator_catches_what_the_real_api_would_reject(body, fragment):
    errors = DiscoveryValidator().check_body("sheets.spreadsheets.batchUpdate", body)
    assert any(fragment in e for e in errors), errors


def test_validator_accepts_a_correct_body_and_checks_field_masks():
    validator = DiscoveryValidator()
    good = {"requests": [{"updateCells": {"start": {"sheetId": 0, "rowIndex": 2}, "fields": "note",
                                          "rows": [{"values": [{"note": "x"}]}]}}]}
    assert validator.check_body("sheets.spreadsheets.batchUpdate", good) == []
    assert validator.check_mask("Spreadsheet", google_backend.READ_FIELDS) == []
    assert validator.check_mask("Spreadsheet", google_backend.CONFIRM_FIELDS) == []
    assert validator.check_mask("CellData", "userEnteredFormat.backgroundColour") == [
        "fields.userEnteredFormat: 'backgroundColour' is not a field of CellFormat (did you mean 'backgroundColor'?)"]
    assert validator.check_query("sheets.spreadsheets.get", {"includeGridData": ["yes"]}) == [
        "sheets.spreadsheets.get: includeGridData='yes' is not a boolean"]


def test_the_fake_serves_tutorial_style_gspread_code():
    """What a benchmark's naive baseline does: plain gspread, one call per cell."""
    with start_fake_sheets({TAB: dispute_rows(3)}, reject_deprecated=False) as fake:
        sheet = fake.gspread_client().open_by_key(fake.spreadsheet_id).worksheet(TAB)
        assert sheet.get_all_values()[1][:2] == ["A1001", "客户1"]
        sheet.update_acell("E3", "李雷")
        sheet.format("C3", {"backgroundColor": {"red": 1, "green": 199 / 255, "blue": 206 / 255}})
        sheet.insert_note("C3", NOTE)
        sheet.append_row(["A2000", "新客户"])
        tab = fake.tab(TAB)
        assert (tab.cell(3, 5), tab.fills, tab.notes) == ("李雷", {(3, 3): MARK_FILL}, {(3, 3): NOTE})
        assert tab.rows[-1][:2] == ["A2000", "新客户"]
        assert fake.count("values.update") == 1 and fake.count("batchUpdate") == 2


def test_the_fake_answers_400_and_records_a_bad_body(disputes):
    session = AuthorizedSession(make_credentials(load_key(disputes.key_file)))
    url = f"{disputes.endpoint}/v4/spreadsheets/{disputes.spreadsheet_id}:batchUpdate"
    response = session.post(url, json={"requests": [{"addSheet": {"properties": {"titel": "x"}}}]}, timeout=10)
    assert response.status_code == 400
    assert disputes.errors == [
        "BatchUpdateSpreadsheetRequest.requests[0].addSheet.properties.titel: unknown field (did you mean 'title'?)"]
    disputes.errors.clear()
    assert [s.title for s in disputes.model.sheets] == [TAB]


# ---- in English ------------------------------------------------------------------------------


def test_with_the_english_template_every_backend_word_is_english(disputes):
    set_language("en")
    backend = disputes.backend()
    assert backend.describe() == f"Google Sheets {disputes.spreadsheet_id}"
    snap = backend.read()
    changes = ChangeSet(paints=[Paint(TAB, 3, 3, key_of(snap, 3), NOTE)], key_columns=KEYS,
                        tabs=[ReplaceTab("Weekly", (("Week", "Rate"), ("W18", 0.9)), protected=True)])
    disputes.before_request(disputes.request_count + 1, lambda m: m.delete_rows(TAB, 3))

    result = backend.apply(changes, snap)

    assert [str(s) for s in result.skipped] == [
        f'"{TAB}" C3: this row was deleted or changed after it was read, so did not mark it red this time; '
        "the next run checks again"]
    [protection] = disputes.model.sheet("Weekly").protected
    assert protection["description"] == "Written by sheetsync: changes made here are overwritten at the next run"


@pytest.mark.parametrize("setup, fragments", [
    (_unshare, ["not shared with the service account sheetsync-bot@", 'add it as an editor']),
    (_disable_api, ["not enabled in the Google Cloud project shop-sync-test", "click \"Enable\""]),
    (_revoke_key, ["Google refused the service-account key", "Create new key"]),
])
def test_real_life_failures_in_english(disputes, setup, fragments):
    set_language("en")
    setup(disputes)
    with pytest.raises(ConfigError) as caught:
        disputes.backend().read()
    text = str(caught.value)
    assert all(fragment in text for fragment in fragments), text
    assert not CJK.search(text), text
