"""The Feishu backend against the fake Feishu Open API on loopback, reached by the real lark-oapi
client over HTTP. What the shared end-to-end tests (test_engine, test_weekly) do not cover:
request budget, re-aiming after a sort mid-run, retries, lost answers, errors, the notes column."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import NOW, base_tabs, row_for, seed_week
from fake_feishu import LOST, Failure, start_fake_feishu
from sheetsync.backends.feishu import FeishuBackend, parse_spreadsheet_token
from sheetsync.core.layout import layouts_with_rows
from sheetsync.core.model import MARK_FILL, ChangeSet, ReplaceTab
from sheetsync.engine import run
from sheetsync.errors import BackendError, ConfigError
from sheetsync.registry import get_jobs

D = datetime
READS = ["sheets.query", "values_batch_get", "values_batch_get"]
pytestmark = pytest.mark.usefixtures("chinese")


def shop_tabs(template):
    tabs = base_tabs(template)
    tabs["库存"] += [row_for(template, "inventory", sku="LGD-S-300D", product="3克拉裸石", stock=3, min_price=100)]
    tabs["推广确认单"] += [row_for(template, "promotions", name="双十一预热款", start=D(2026, 11, 30),
                                end=D(2026, 12, 1), skus="LGD-S-300D", declared_stock=5, author="周深",
                                signer="莉莉", signed_at=D(2026, 11, 20))]
    tabs["客服台账"] += [
        row_for(template, "cs_log", customer="王女士", type="产品咨询", asked_at=D(2026, 11, 22, 10),
                answered_at=D(2026, 11, 22, 10, 2), resolved="否"),
        row_for(template, "cs_log", customer="李先生", type="产品咨询", asked_at=D(2026, 11, 22, 11),
                answered_at=D(2026, 11, 22, 11, 2), resolved="是"),
    ]
    tabs["售后纠纷"] += [row_for(template, "disputes", order="TB1001", received_at=D(2026, 11, 22, 9),
                               category="物流问题", first_reply_at=D(2026, 11, 22, 9, 5))]
    return tabs


@pytest.fixture
def fake(template):
    with start_fake_feishu(shop_tabs(template)) as fake:
        yield fake


def go(fake, now=NOW, jobs=None, **kw):
    return run(fake.backend(**kw), get_jobs(jobs), now=now)


def hint(fake, tab, row):
    head = fake.model.rows_of(tab)[0]
    return fake.model.shown(tab, row, head.index("sheetsync 提示") + 1)


# ---- budget ----------------------------------------------------------------------------------


def test_a_run_reads_once_confirms_once_writes_once_per_endpoint_and_an_idle_run_only_reads(fake):
    go(fake)
    first = fake.kinds()
    assert first[:3] == READS  # the sheet list, every tab's values, the date cells' serials
    assert first[3] == "values_batch_get"  # the confirming read of key and notes columns
    writes = first[4:]
    assert writes.count("values_batch_update") == 1 and writes.count("styles_batch_update") == 1
    assert writes.count("condition_formats.batch_create") == 1 and "values_batch_get" not in writes
    n = fake.request_count
    report = go(fake, now=NOW + timedelta(minutes=15))
    assert report.applied is None
    assert fake.kinds()[n:] == [*READS, "condition_formats.get"]  # nothing written


def test_red_is_a_conditional_format_and_the_reason_sits_in_the_rows_notes_column(fake):
    fake.model.set_fill("推广确认单", 2, 7, "00FF00")  # a person's green, invisible to the API
    go(fake)
    assert fake.model.own_fill("推广确认单", 2, 7) == "00FF00"  # never touched
    assert fake.model.shown_fill("推广确认单", 2, 7) == MARK_FILL  # drawn over it while open
    assert hint(fake, "推广确认单", 2).startswith("声明库存: 【sheetsync】声明库存 5 件")
    assert hint(fake, "客服台账", 2).startswith("是否解决: 【sheetsync】")
    assert hint(fake, "客服台账", 3) is None
    fake.model.set_value("库存", 2, 3, 5)  # stock arrived: fixed
    go(fake, now=NOW + timedelta(minutes=15))
    assert fake.model.shown_fill("推广确认单", 2, 7) == "00FF00" and hint(fake, "推广确认单", 2) is None


def test_a_sort_between_the_read_and_the_write_lands_red_on_the_right_rows_only(fake, template):
    with start_fake_feishu(shop_tabs(template)) as other:
        other.backend().read()
        reads = other.request_count
    # just before the confirming read, a person sorts 客服台账 so that 王女士 moves from row 2 to 3
    fake.before_request(reads + 1, lambda m: m.swap_rows("客服台账", 2, 3))
    go(fake)
    rows = fake.model.rows_of("客服台账")
    assert "王女士" in rows[2] and "李先生" in rows[1]
    assert fake.model.shown_fill("客服台账", 3, 9) == MARK_FILL
    assert fake.model.shown_fill("客服台账", 2, 9) is None
    assert hint(fake, "客服台账", 3).startswith("是否解决:") and hint(fake, "客服台账", 2) is None
    report = go(fake, now=NOW + timedelta(minutes=15))
    assert not report.changes.paints and not report.changes.unpaints  # the next run finds the mark where it is


def test_a_sort_between_runs_is_redrawn_on_the_next_run(fake):
    go(fake)
    fake.model.swap_rows("客服台账", 2, 3)  # the notes move with the row; the conditional format stays
    assert fake.model.shown_fill("客服台账", 2, 9) == MARK_FILL  # for now on the wrong row
    go(fake, now=NOW + timedelta(minutes=15))
    assert fake.model.shown_fill("客服台账", 3, 9) == MARK_FILL and fake.model.shown_fill("客服台账", 2, 9) is None


def test_fixed_and_sorted_between_runs_leaves_no_stale_red_or_note(fake):
    go(fake)
    fake.model.set_value("客服台账", 2, 9, "是")
    fake.model.swap_rows("客服台账", 2, 3)
    go(fake, now=NOW + timedelta(minutes=15))
    assert fake.model.shown_fill("客服台账", 2, 9) is None and fake.model.shown_fill("客服台账", 3, 9) is None
    assert hint(fake, "客服台账", 2) is None and hint(fake, "客服台账", 3) is None


# ---- retries and lost answers ------------------------------------------------------------------


def test_429_twice_then_success_waits_what_the_reset_header_says(fake):
    fake.inject(Failure(429, reset=7), Failure(429, reset=2), on="values_batch_update")
    go(fake)
    assert fake.sleeps == [7, 2]
    assert fake.count("values_batch_update") == 3
    assert fake.model.shown_fill("推广确认单", 2, 7) == MARK_FILL


def test_a_read_failing_with_5xx_is_retried(fake):
    fake.inject(503, 502, on="values_batch_get")
    go(fake)
    assert len(fake.sleeps) == 2 and all(s <= 64 for s in fake.sleeps)
    assert fake.model.shown_fill("推广确认单", 2, 7) == MARK_FILL


def test_rate_limit_that_does_not_end_gives_up_after_bounded_retries(fake):
    fake.inject(*[Failure(429, reset=30)] * 7, on="sheets.query")
    with pytest.raises(BackendError) as err:
        go(fake)
    assert "限流" in str(err.value) and "表格没有被修改" in str(err.value)
    assert fake.sleeps == [30] * 6


def test_a_write_applied_whose_answer_is_lost_leaves_no_doubled_weekly_row(fake):
    fake.inject(LOST, on="values_batch_update")
    with pytest.raises(BackendError) as err:
        go(fake, jobs=["weekly-summary"])
    assert "无法确认这次修改是否已写入" in str(err.value)
    assert fake.count("values_batch_update") == 1  # not sent again
    go(fake, jobs=["weekly-summary"], now=NOW + timedelta(minutes=15))
    weekly = fake.model.rows_of("周报")
    assert [r[0] for r in weekly] == ["周", "2026-11-16 ~ 11-22"]
    log = fake.model.rows_of("运行记录")
    assert [r[0] for r in log[1:]] == ["2026-11-22 20:00", "2026-11-22 20:15"]  # each run logged once


def test_an_expired_token_is_renewed_once(fake):
    backend = fake.backend()
    backend.read()
    fake.revoke_tokens()
    backend.read()
    assert fake.token_requests == 2


# ---- a person's text, dates ------------------------------------------------------------------------


def test_text_that_looks_like_a_date_stays_text(template):
    with start_fake_feishu({"备注": [["a", "b"], ["2026-11-22 20:00", D(2026, 11, 22, 20)]]}) as fake:
        tab = fake.backend().read().tabs["备注"]
        assert tab.rows[1] == ["2026-11-22 20:00", D(2026, 11, 22, 20)]


def test_a_persons_text_in_the_notes_column_is_never_overwritten(fake):
    go(fake)
    col = fake.model.rows_of("客服台账")[0].index("sheetsync 提示") + 1
    fake.model.set_value("客服台账", 3, col, "回访过了")
    fake.model.set_value("客服台账", 3, 9, "否")  # a new problem on that row: sheetsync would write its note here
    report = go(fake, now=NOW + timedelta(minutes=15))
    assert fake.model.shown("客服台账", 3, col) == "回访过了"
    assert any("有人写了别的内容" in str(r) for r in report.applied.skipped)
    assert fake.model.shown_fill("客服台账", 3, 9) is None  # no red without its reason next to it


# ---- limits ----------------------------------------------------------------------------------------


def test_a_big_rewrite_is_split_by_the_documented_limits_and_the_grid_grows(fake):
    backend = fake.backend()
    snapshot = backend.read()
    rows = (("序号", "值"), *((i, f"v{i}") for i in range(1, 6001)))
    backend.apply(ChangeSet(tabs=[ReplaceTab(tab="大表", rows=rows)]), snapshot)
    bodies = fake.bodies("values_batch_update")
    assert max(len(vr["values"]) for b in bodies for vr in b["valueRanges"]) <= 5000
    assert fake.model.rows_of("大表")[-1] == [6000, "v6000"]
    assert fake.count("dimension_range.add") >= 1


# ---- init --------------------------------------------------------------------------------------


def test_init_lays_out_headers_dropdowns_frozen_rows_and_protects_job_tabs(template):
    with start_fake_feishu({}) as fake:
        result = fake.backend().init_layout(layouts_with_rows(template, {}))
        assert "客服台账" in result.created
        sheet = fake.model.sheet("客服台账")
        assert fake.model.rows_of("客服台账")[0][0] == template.tabs["cs_log"].columns[0].name
        assert sheet.frozen_rows == 1 and sheet.validations and sheet.widths
        again = fake.backend().init_layout(layouts_with_rows(template, {}))
        assert not again.created and "客服台账" in again.kept


# ---- what every error says --------------------------------------------------------------------


def test_wrong_secret_names_the_app_and_the_variable(fake):
    with pytest.raises(ConfigError) as err:
        fake.backend(secret="nope").read()
    assert fake.app_id in str(err.value) and "SHEETSYNC_FEISHU_APP_SECRET" in str(err.value)


def test_app_not_added_to_the_sheet_says_how_to_add_it(fake):
    fake.collaborators.clear()
    with pytest.raises(ConfigError) as err:
        fake.backend().read()
    assert "添加文档应用" in str(err.value) and fake.app_id in str(err.value)


def test_missing_scope_says_which_scope_and_to_publish(fake):
    fake.scopes.clear()
    with pytest.raises(ConfigError) as err:
        fake.backend().read()
    assert "sheets:spreadsheet" in str(err.value) and "发布" in str(err.value)


def test_unknown_sheet_token(fake):
    fake.collaborators.add("shtcnOther0000000000000")
    with pytest.raises(ConfigError) as err:
        fake.backend(spreadsheet="shtcnOther0000000000000").read()
    assert "找不到 token 为 shtcnOther0000000000000" in str(err.value)


def test_secret_comes_from_the_environment_only(fake, monkeypatch):
    monkeypatch.delenv("SHEETSYNC_FEISHU_APP_SECRET", raising=False)
    with pytest.raises(ConfigError) as err:
        FeishuBackend(fake.token, app_id=fake.app_id, domain=fake.domain)
    assert "export SHEETSYNC_FEISHU_APP_SECRET=" in str(err.value)
    monkeypatch.setenv("SHOP_SECRET", fake.app_secret)
    FeishuBackend(fake.token, app_id=fake.app_id, app_secret_env="SHOP_SECRET", domain=fake.domain).read()


def test_the_domain_variable_wins_over_the_configured_domain(fake, monkeypatch):
    monkeypatch.setenv("SHEETSYNC_FEISHU_DOMAIN", fake.domain)
    assert "推广确认单" in fake.backend(domain="https://open.larksuite.com").read().tabs


def test_a_domain_with_a_path_is_refused(fake):
    with pytest.raises(ConfigError) as err:
        fake.backend(domain="https://proxy.example.com/feishu")
    assert "https://open.larksuite.com" in str(err.value)


@pytest.mark.parametrize("text, expected", [
    ("https://shop.feishu.cn/sheets/shtcnAbC123xyz?sheet=0b8f2c", "shtcnAbC123xyz"),
    ("https://shop.larksuite.com/sheets/shtusAbC123xyz", "shtusAbC123xyz"),
    ("shtcnAbC123xyz", "shtcnAbC123xyz"),
])
def test_token_from_url(text, expected):
    assert parse_spreadsheet_token(text) == expected


def test_a_wiki_address_is_explained():
    with pytest.raises(ConfigError) as err:
        parse_spreadsheet_token("https://shop.feishu.cn/wiki/wikcnAbC123")
    assert "知识库" in str(err.value)


def test_a_key_column_mixing_typed_dates_and_date_like_text_is_re_aimed_exactly(template):
    """咨询时间 is part of 客服台账's row key; one row has a real date, another the text a person
    typed. The confirming read must read both as the first read did, or the mark is dropped."""
    tabs = shop_tabs(template)
    tabs["客服台账"][1][template.tabs["cs_log"].columns.index(
        next(c for c in template.tabs["cs_log"].columns if c.id == "asked_at"))] = "2026/11/22 10:00"
    with start_fake_feishu(tabs) as fake:
        report = go(fake)
        assert report.applied.skipped == []
        assert fake.model.shown_fill("客服台账", 2, 9) == MARK_FILL
        again = go(fake, now=NOW + timedelta(minutes=15))
        assert again.applied is None and fake.model.shown("客服台账", 2, 5) == "2026/11/22 10:00"


# ---- from the command line -------------------------------------------------------------------


def test_init_check_run_from_sheetsync_toml(tmp_path, monkeypatch, capsys):
    """backend = "feishu" and a [feishu] table; the secret only in the environment."""
    from sheetsync.cli import main

    monkeypatch.chdir(tmp_path)
    with start_fake_feishu({"Sheet1": [["随便写的"]]}) as fake:
        monkeypatch.setenv("SHOP_FEISHU_SECRET", fake.app_secret)
        (tmp_path / "sheetsync.toml").write_text(
            'backend = "feishu"\n\n[feishu]\n'
            f'spreadsheet = "https://shop.feishu.cn/sheets/{fake.token}?sheet=abc"\n'
            f'app_id = "{fake.app_id}"\napp_secret_env = "SHOP_FEISHU_SECRET"\ndomain = "{fake.domain}"\n',
            encoding="utf-8")
        assert main(["init"]) == 0
        assert "已创建 17 张表" in capsys.readouterr().out
        assert fake.model.rows_of("Sheet1") == [["随便写的"]]  # a tab that was there is left alone
        assert main(["check", "--now", "2026-11-22 20:00"]) == 0
        fake.model.set_value("客服台账", 2, 2, "王女士")
        fake.model.set_value("客服台账", 2, 3, "产品咨询")
        fake.model.set_value("客服台账", 2, 5, D(2026, 11, 22, 10))
        fake.model.set_value("客服台账", 2, 9, "否")
        capsys.readouterr()
        assert main(["run", "--now", "2026-11-22 20:00"]) == 0
        assert "已写入" in capsys.readouterr().out
        assert fake.model.shown_fill("客服台账", 2, 9) == MARK_FILL


def test_spreadsheet_flag_with_a_feishu_address_and_the_domain_variable(tmp_path, monkeypatch, capsys):
    from sheetsync.cli import main

    monkeypatch.chdir(tmp_path)
    with start_fake_feishu({}) as fake:
        monkeypatch.setenv("SHEETSYNC_FEISHU_APP_SECRET", fake.app_secret)
        monkeypatch.setenv("SHEETSYNC_FEISHU_DOMAIN", fake.domain)
        (tmp_path / "sheetsync.toml").write_text(f'[feishu]\napp_id = "{fake.app_id}"\n', encoding="utf-8")
        assert main(["init", "--spreadsheet", f"https://shop.feishu.cn/sheets/{fake.token}"]) == 0
        assert "客服台账" in [s.title for s in fake.model.sheets]


def test_a_feishu_config_without_a_spreadsheet_says_where_to_write_it(tmp_path, monkeypatch, capsys):
    from sheetsync.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sheetsync.toml").write_text('backend = "feishu"\n[feishu]\napp_id = "cli_x"\n', encoding="utf-8")
    assert main(["check"]) == 2
    assert "[feishu] 里写 spreadsheet" in capsys.readouterr().err


# ---- words --------------------------------------------------------------------------------------


def test_every_feishu_key_is_in_both_languages_with_the_same_parameters_and_english_has_no_cjk():
    import re
    import string
    import sys
    from pathlib import Path

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    root = Path(__file__).resolve().parent.parent
    used = set()
    for path in (root / "sheetsync").rglob("*.py"):
        used |= set(re.findall(r'"(feishu\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    assert len(used) > 20
    files = {lang: tomllib.loads((root / "sheet_templates" / lang / "messages" / "feishu.toml").read_text("utf-8"))
             ["feishu"] for lang in ("zh-CN", "en")}
    cjk = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for key in sorted(used):
        name = key.removeprefix("feishu.")
        assert name in files["zh-CN"] and name in files["en"], key
    assert set(files["zh-CN"]) == set(files["en"])
    for name, en in files["en"].items():
        assert not cjk.search(en), (name, en)
        assert fields(en) == fields(files["zh-CN"][name]), name
    for path in (root / "sheetsync" / "backends").glob("feishu*.py"):
        assert not cjk.search(path.read_text(encoding="utf-8")), path.name


def test_a_tab_whose_grid_is_full_gets_a_column_for_its_notes(fake):
    fake.model.sheet("推广确认单").cols = 12  # exactly the template's columns: no room for notes
    go(fake)
    assert fake.model.sheet("推广确认单").cols == 13
    assert fake.model.shown_fill("推广确认单", 2, 7) == MARK_FILL
    assert hint(fake, "推广确认单", 2).startswith("声明库存:")


def test_merged_header_cells_are_read(fake):
    fake.model.sheet("客服台账").merges.append((1, 2, 1, 3))  # 客户 and 问题类型 merged in the header
    report = go(fake)
    assert any(f.code == "layout.merged_header" for f in report.findings)


def test_the_weekly_summary_is_mailed_from_a_feishu_sheet_and_schedule_runs_on_it(tmp_path, monkeypatch, capsys):
    """Delivery does not care where the sheet is: the seed week on Feishu leaves the 周报 e-mail
    in the outbox, and `schedule --once` runs the due jobs on the same sheet."""
    from sheetsync.cli import main
    from sheetsync.templates import load_template

    monkeypatch.chdir(tmp_path)
    with start_fake_feishu(seed_week(load_template("zh-CN"))) as fake:
        monkeypatch.setenv("SHEETSYNC_FEISHU_APP_SECRET", fake.app_secret)
        (tmp_path / "sheetsync.toml").write_text(
            f'backend = "feishu"\n[feishu]\nspreadsheet = "{fake.token}"\napp_id = "{fake.app_id}"\n'
            f'domain = "{fake.domain}"\n', encoding="utf-8")
        assert main(["run", "weekly-summary", "--now", "2026-11-22 20:00"]) == 0
        assert "选品合格率 90%、推广准确率 50%、客服响应率 97.7%、售后解决率 100%" in capsys.readouterr().out
        assert list(tmp_path.glob(f".sheetsync/{fake.token}/outbox/weekly-2026-11-16.eml"))
        assert fake.model.rows_of("周报")[-1][0] == "2026-11-16 ~ 11-22"
        capsys.readouterr()
        assert main(["schedule", "--once", "--now", "2026-11-22 20:30"]) == 0


def test_a_deleted_notes_column_is_rebuilt_and_the_red_redrawn_not_doubled(fake):
    go(fake)
    sheet = fake.model.sheet("客服台账")
    col = fake.model.rows_of("客服台账")[0].index("sheetsync 提示") + 1
    for (r, c) in [k for k in sheet.cells if k[1] == col]:
        del sheet.cells[r, c]  # a person deleted the notes column's contents
    fake.model.set_value("客服台账", 2, 9, "是")  # and fixed the problem it explained
    fake.model.set_value("客服台账", 3, 9, "否")  # while another row got one
    go(fake, now=NOW + timedelta(minutes=15))
    assert len(sheet.cfs) == 2  # sheetsync's pair, re-drawn, not a second pair
    assert fake.model.shown_fill("客服台账", 2, 9) is None and fake.model.shown_fill("客服台账", 3, 9) == MARK_FILL
    assert hint(fake, "客服台账", 3).startswith("是否解决:")
