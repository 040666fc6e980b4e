"""The 22:00 digest: customers still waiting for a first reply first (one who asked at 21:30 is
there), then the unresolved ones, then tomorrow's deadlines — parsed back from the outbox."""

from __future__ import annotations

import json
from datetime import datetime
from email import policy
from email.parser import BytesParser

import pytest

from sheetsync.app import run_jobs
from sheetsync.config import Config
from conftest import base_tabs, row_for

DAY = datetime(2026, 11, 23)


def at(h: int, m: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, h, m)


def digest_book(template, write_xlsx):
    tabs = base_tabs(template, {"店名": "小店"})
    tabs["客服台账"] += [
        row_for(template, "cs_log", customer="晚来的客户", type="产品咨询", summary="能刻字吗", asked_at=at(21, 30),
                agent="童欣"),
        row_for(template, "cs_log", customer="退货的客户", type="售后问题", summary="退货运费", asked_at=at(14),
                answered_at=at(14, 5), agent="童欣", resolved=False),
        row_for(template, "cs_log", customer="满意的客户", type="产品咨询", summary="尺码", asked_at=at(10),
                answered_at=at(10, 2), agent="童欣", resolved=True),
        row_for(template, "cs_log", customer="昨天的客户", type="其他", summary="发票", asked_at=at(16, 0, 22),
                agent="童欣"),
    ]
    tabs["售后纠纷"].append(row_for(template, "disputes", order="DD-778", customer="王女士", received_at=at(11),
                                    category="物流问题", first_reply_at=at(11, 5), handler="莉莉"))
    return write_xlsx(tabs)


@pytest.mark.parametrize("lang_check", ["text", "html", "bot"])
def test_waiting_customers_first_then_unresolved_then_tomorrows_deadlines(template, write_xlsx, tmp_path, lang_check):
    path = digest_book(template, write_xlsx)
    config = Config(workbook=path, state_dir=tmp_path / "state")
    run_jobs(config, ["daily-digest"], now=at(22))
    eml = tmp_path / "state" / "outbox" / "daily-2026-11-23.eml"
    em = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert em["Subject"] == "【小店】客服日报 11.23 咨询 3 条, 2 位客户还在等回复, 未解决 1 条"
    if lang_check == "text":
        body = em.get_body(("plain",)).get_content()
        heads = ["还在等首次回复 (2)", "- 昨天的客户", "- 晚来的客户", "未解决 (1)", "- 退货的客户", "明天到期 (1)",
                 "- 「售后纠纷」第2行 (DD-778 · 王女士): 解决时间 11:00 前 · 莉莉"]
    elif lang_check == "html":
        body = em.get_body(("html",)).get_content()
        heads = ["还在等首次回复 (2)", "昨天的客户", "晚来的客户", "未解决 (1)", "退货的客户", "明天到期 (1)", "DD-778"]
    else:
        body = json.loads(eml.with_suffix(".json").read_text(encoding="utf-8"))["bot"]["markdown"]
        heads = ["还在等首次回复 **2** 位", "昨天的客户", "晚来的客户", "未解决 **1** 条", "退货的客户",
                 "明天到期 **1** 件", "DD-778"]
    positions = [body.find(h) for h in heads]
    assert -1 not in positions, (heads, body)
    assert positions == sorted(positions), body
    assert "满意的客户" not in body


def test_the_english_digest_says_the_same_in_english(write_xlsx, tmp_path):
    from sheetsync.templates import load_template

    en = load_template("en")
    tabs = {tab.title: [[c.name for c in tab.columns]] for tab in en.tabs.values()}
    tabs["Customer service log"].append(row_for(en, "cs_log", customer="Late Lucy", type="product question",
                                                asked_at=at(21, 30), agent="Xin"))
    from sheetsync.backends.xlsx import XlsxBackend
    from sheetsync.core.layout import layouts_with_rows

    from sheetsync.i18n import set_language

    set_language("en")  # as `sheetsync --template en` does
    path = tmp_path / "en.xlsx"
    XlsxBackend(path).init_layout(layouts_with_rows(en, tabs))
    run_jobs(Config(workbook=path, template="en", state_dir=tmp_path / "state"), ["daily-digest"], now=at(22))
    em = BytesParser(policy=policy.default).parsebytes((tmp_path / "state" / "outbox" / "daily-2026-11-23.eml")
                                                       .read_bytes())
    assert em["Subject"] == "Customer service digest Nov 23: 1 inquiries, 1 still waiting for a reply, 0 unresolved"
    body = em.get_body(("plain",)).get_content()
    assert "Still waiting for a first reply (1)\n- Late Lucy" in body
