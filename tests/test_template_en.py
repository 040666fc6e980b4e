"""The English template is the Chinese one in other words: same ids, rules and KPIs, English text.

The structural tests compare en.toml with zh-CN.toml item by item (choice values and role names
by position), so the two templates cannot drift apart. The workbook tests run the real checks on
in-memory rows laid out from each template.
"""

from __future__ import annotations

import re
import string
from datetime import datetime

import pytest

from conftest import NOW, header, row_for, snapshot_of
from sheetsync.engine import load
from sheetsync.core.job import JobContext
from sheetsync.core.parsing import parse_bool
from sheetsync.registry import get_jobs
from sheetsync.core.rules import all_codes
from sheetsync.core.template import Column, Condition, Rule, TabTemplate, Template
from sheetsync.templates import load_template
from sheetsync.i18n.findings import catalogue_for, with_messages

D = datetime
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e]")  # ideographs, CJK and full-width punctuation


@pytest.fixture(scope="module")
def en() -> Template:
    return load_template("en")


# -- structure: en mirrors zh-CN ----------------------------------------------------------------


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def role_map(zh: Template, en: Template) -> dict[str, str]:
    """zh role name -> en role name, by position in the Team tab's Role dropdown."""
    zh_roles = zh.tabs["members"].column("role").choices
    en_roles = en.tabs["members"].column("role").choices
    assert len(zh_roles) == len(en_roles)
    return {"": "", **dict(zip(zh_roles, en_roles, strict=True))}


def same_value(zh_col: Column, en_col: Column, zh_value: str, en_value: str) -> bool:
    """A condition value means the same thing in both templates (choices compared by position)."""
    if zh_col.type == "choice":
        return zh_col.choices.index(zh_value) == en_col.choices.index(en_value)
    if zh_col.type == "bool":
        return parse_bool(zh_value) == parse_bool(en_value)
    return zh_value == en_value


def plain_params(rule: Rule) -> dict:
    """Rule parameters that must be identical in both languages (column ids, settings, flags);
    role names, choices and their other-language aliases differ by design."""
    return {k: v for k, v in rule.params.items()
            if k not in ("role", "choices", "aliases", "bands", "rates", "other", "rejected", "focus",
                         "says", "scope", "unit")}  # the last three: phrases in the text


def assert_same_conditions(zh_tab: TabTemplate, en_tab: TabTemplate, zh: tuple[Condition, ...],
                           en: tuple[Condition, ...]) -> None:
    assert [(c.column, c.op) for c in zh] == [(c.column, c.op) for c in en]
    for zc, ec in zip(zh, en, strict=True):
        assert same_value(zh_tab.column(zc.column), en_tab.column(ec.column), zc.value, ec.value), (zc, ec)


def test_english_template_loads(en):
    assert (en.name, en.language) == ("en", "en")
    assert [t.title for t in en.tabs.values()] == [
        "Team", "Settings", "Product checks", "Promotions", "Inventory", "Customer service log",
        "After-sales disputes", "Bad reviews", "Orders", "Returns", "Shifts", "Reply book"]
    assert [o.title for o in en.owned.values()] == ["Weekly summary", "Open problems", "Run log", "_sheetsync",
                                                    "CS scorecard"]
    assert [c.name for c in en.tabs["settings"].columns] == ["Setting", "Value", "Notes"]


def test_tabs_and_columns_match_zh(template, en):
    assert list(en.tabs) == list(template.tabs)
    for key, zh_tab in template.tabs.items():
        en_tab = en.tabs[key]
        assert (en_tab.role, en_tab.key_columns) == (zh_tab.role, zh_tab.key_columns), key
        assert [c.id for c in en_tab.columns] == [c.id for c in zh_tab.columns], key
        for zc, ec in zip(zh_tab.columns, en_tab.columns, strict=True):
            assert (ec.type, ec.required, ec.unique, ec.min, len(ec.choices)) == \
                   (zc.type, zc.required, zc.unique, zc.min, len(zc.choices)), (key, zc.id)


def test_every_chinese_title_and_header_still_matches(template, en):
    """Whatever binds with zh-CN (title, header or alias) binds with en too."""
    for key, zh_tab in template.tabs.items():
        assert zh_tab.title_forms() <= en.tabs[key].title_forms(), key
        for zc, ec in zip(zh_tab.columns, en.tabs[key].columns, strict=True):
            assert zc.header_forms() <= ec.header_forms(), (key, zc.id)
    for key, zh_owned in template.owned.items():
        assert zh_owned.title_forms() <= en.owned[key].title_forms(), key
        assert len(en.owned[key].header) == len(zh_owned.header), key


def test_rules_match_zh(template, en):
    roles = role_map(template, en)
    for key, zh_tab in template.tabs.items():
        en_tab = en.tabs[key]
        assert roles[zh_tab.owner] == en_tab.owner, key
        assert [r.code for r in en_tab.rules] == [r.code for r in zh_tab.rules], key
        for zr, er in zip(zh_tab.rules, en_tab.rules, strict=True):
            where = (key, zr.code)
            assert (er.kind, er.column, er.job, er.owner) == (zr.kind, zr.column, zr.job, roles[zr.owner]), where
            assert plain_params(er) == plain_params(zr), where
            if "role" in zr.params:
                assert er.params["role"] == roles[zr.params["role"]], where
            if "choices" in zr.params:
                by_zh, by_en = zh_tab.column(zr.params["by"]), en_tab.column(er.params["by"])
                assert [by_en.choices.index(k) for k in er.params["choices"]] == \
                       [by_zh.choices.index(k) for k in zr.params["choices"]], where
                assert [len(v) for v in er.params["choices"].values()] == \
                       [len(v) for v in zr.params["choices"].values()], where
            assert_same_conditions(zh_tab, en_tab, zr.when, er.when)
            assert_same_conditions(zh_tab, en_tab, zr.unless, er.unless)
            assert len(er.when_any) == len(zr.when_any), where
            for zg, eg in zip(zr.when_any, er.when_any, strict=True):
                assert_same_conditions(zh_tab, en_tab, zg, eg)


def test_english_settings_notes(en):
    from sheetsync.core.settings import settings_from_rows

    s = settings_from_rows([["Setting", "Value"], ["First response limit (minutes)", "ten"], ["colour", "red"]],
                           specs=en.settings)
    bad, unknown = (f.message for f in with_messages(s.findings, catalogue_for(en)))
    assert bad == ("Setting 'First response limit (minutes)': can't read this duration: ten "
                   "(for example 10, 15 s, 30 min, 2 hours, 1 day). The default is used until it is fixed.")
    assert unknown.startswith("Unknown setting 'colour', ignored. Known settings: Shop name, Time zone, ")


def test_messages_use_the_same_placeholders(template, en):
    assert set(en.messages) == set(template.messages)
    for key, text in template.messages.items():
        assert placeholders(en.messages[key]) == placeholders(text), key
    zh_cat, en_cat = catalogue_for(template), catalogue_for(en)
    for code in all_codes(template):
        key = f"findings.{code}"
        assert placeholders(en_cat.raw(key)) == placeholders(zh_cat.raw(key)), code


def test_kpis_and_breakdowns_match_zh(template, en):
    assert [k.key for k in en.kpis] == [k.key for k in template.kpis]
    for zk, ek in zip(template.kpis, en.kpis, strict=True):
        assert (ek.tab, ek.date, ek.sla) == (zk.tab, zk.date, zk.sla), zk.key
        assert_same_conditions(template.tabs[zk.tab], en.tabs[ek.tab], zk.when, ek.when)
    assert [(b.tab, b.date, b.by) for b in en.breakdowns] == [(b.tab, b.date, b.by) for b in template.breakdowns]
    for zb, eb in zip(template.breakdowns, en.breakdowns, strict=True):
        assert_same_conditions(template.tabs[zb.tab], en.tabs[eb.tab], zb.when, eb.when)
    assert set(en.weekly_columns) == set(template.weekly_columns)


def visible_text(tpl: Template) -> list[str]:
    """Everything of a template that people read (aliases are only for matching)."""
    out = [*tpl.messages.values(), *tpl.weekly_columns.values()]
    for tab in tpl.tabs.values():
        out += [tab.title, tab.owner]
        for col in tab.columns:
            out += [col.name, col.note, *col.choices]
        for rule in tab.rules:
            out += [*rule.messages.values(), rule.owner, str(rule.params.get("role", ""))]
            for options in rule.params.get("choices", {}).values():
                out += list(options)
    cat = catalogue_for(tpl)  # the words of every code the template's rules emit
    out += [cat.raw(f"findings.{code}") for code in all_codes(tpl)]
    for owned in tpl.owned.values():
        out += [owned.title, *owned.header]
    for kpi in tpl.kpis:
        out += [kpi.label, kpi.count_label]
    out += [b.label for b in tpl.breakdowns]
    return out


def test_english_template_text_has_no_chinese(en):
    assert [t for t in visible_text(en) if CJK.search(t)] == []


# -- an English workbook --------------------------------------------------------------------------

TEAM = [
    ["Yijun", "selection", "yijun@example.com"],
    ["Shen", "promotion", "shen@example.com"],
    ["Xin", "service", "xin@example.com"],
    ["Lily", "finance", "lili@example.com"],
    ["Lin", "manager", "linyue@example.com"],
]


def workbook_rows(tpl: Template, *, titles: Template, settings: list[list[str]] = ()) -> dict[str, list[list]]:
    """Every data tab of ``tpl`` under the titles and headers of ``titles`` (the same template,
    or zh-CN for a Chinese-laid-out workbook), the Team filled with English roles, the bad rows below."""
    rows = {
        "members": TEAM,
        "settings": [list(s) for s in settings],
        "inventory": [
            row_for(tpl, "inventory", sku="SKU-3", product="3ct round stone", stock=3, min_price=100),
            row_for(tpl, "inventory", sku="SKU-9", product="stud earrings", stock=50, min_price=10),
        ],
        "selection": [
            row_for(tpl, "selection", date=D(2026, 11, 20), product="Heart pendant", supplier="Star Co",
                    verdict="returned", checker="Yijun"),
        ],
        "promotions": [  # the seed's oversell: 5 declared, 3 in stock; then one starting in 3 h, unsigned
            row_for(tpl, "promotions", name="Black Friday warm-up", start=D(2026, 11, 30), end=D(2026, 12, 1),
                    skus="SKU-3", price=120, declared_stock=5, author="Shen", signer="Lily",
                    signed_at=D(2026, 11, 20), error="none"),
            row_for(tpl, "promotions", name="Late-night flash sale", start=D(2026, 11, 22, 23), end=D(2026, 11, 23),
                    skus="SKU-9", declared_stock=10, author="Shen"),
        ],
        "cs_log": [
            row_for(tpl, "cs_log", customer="Amy", type="product question", asked_at=D(2026, 11, 22, 10),
                    answered_at=D(2026, 11, 22, 10, 30), agent="Xin", resolved="yes"),
            row_for(tpl, "cs_log", customer="Ben", type="after-sales", asked_at=D(2026, 11, 22, 11),
                    answered_at=D(2026, 11, 22, 11, 5), agent="Xin", resolved="no"),
        ],
        "disputes": [  # logistics with no handler: routed to finance; quality handled by the wrong person
            row_for(tpl, "disputes", order="1001", received_at=D(2026, 11, 22, 9), category="logistics",
                    first_reply_at=D(2026, 11, 22, 9, 5), solution="Resend", resolved_at=D(2026, 11, 22, 15),
                    status="resolved"),
            row_for(tpl, "disputes", order="1002", received_at=D(2026, 11, 22, 9), category="quality",
                    first_reply_at=D(2026, 11, 22, 9, 5), handler="Xin", verified_at=D(2026, 11, 22, 10),
                    solution="resend + 10 yuan coupon", resolved_at=D(2026, 11, 22, 15), status="resolved"),
        ],
        "reviews": [
            row_for(tpl, "reviews", order="2001", posted_at=D(2026, 11, 21, 9), found_at=D(2026, 11, 21, 12),
                    rating="negative", reason="slow delivery", contacted_at=D(2026, 11, 21, 13), channel="phone",
                    satisfied="no", asked_change="yes"),
        ],
    }
    tabs = {}
    for key, tab in titles.tabs.items():
        tabs[tab.title] = [header(titles, key), *rows.get(key, [])]
    return tabs


def run_checks(tpl: Template, tabs: dict[str, list[list]]):
    """validate + reconcile-stock on in-memory rows: (findings, fills)."""
    loaded = load(snapshot_of(tabs), tpl, NOW)
    ctx = JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now)
    outputs = [job.compute(ctx) for job in get_jobs(["validate", "reconcile-stock"])]
    findings = with_messages((f for o in outputs for f in o.findings if f.is_problem), catalogue_for(tpl))
    return findings, [f for o in outputs for f in o.fills]


# (tab, row, column header, code, a phrase the note must contain)
EXPECTED = [
    ("Product checks", 2, "Return reason", "selection.return_reason_missing", "there is no return reason"),
    ("Promotions", 2, "Declared stock", "stock.oversell",
     "Declared stock is 5, but the Inventory tab has only 3 of SKU-3: this will oversell. "
     "Change the declared stock to 3"),
    ("Promotions", 3, "Signed by", "promo.unsigned",
     "the promotion starts 2026-11-22 23:00 and must be signed off 24 h before it starts; still empty: "),
    ("Customer service log", 2, "First response", "cs.first_response",
     "The first response took 30 min (working time), over the 15 min limit."),
    ("Customer service log", 3, "Resolved", "cs.unresolved", "change 'Resolved' to 'yes'"),
    ("After-sales disputes", 3, "Handler", "dispute.handler_quality",
     "handled by the selection lead (Yijun), but the handler here is 'Xin'"),
    ("Bad reviews", 2, "Asked to change review", "review.asked_before_solved",
     "asked to change the review before this was done: 'Solution' filled in, 'Customer satisfied' = 'yes'."),
    ("Bad reviews", 2, "Customer satisfied", "review.not_satisfied", "keep talking until they are"),
]

EN_SETTINGS = [["first response limit (minutes)", "15", "minutes to the first reply"]]


@pytest.fixture(scope="module")
def english_run(en):
    return run_checks(en, workbook_rows(en, titles=en, settings=EN_SETTINGS))


def test_english_workbook_finds_exactly_the_bad_rows(english_run):
    findings, _fills = english_run
    assert {(f.tab, f.row, f.column, f.code) for f in findings} == {e[:4] for e in EXPECTED}


@pytest.mark.parametrize("tab,row,column,code,phrase", EXPECTED, ids=[e[3] for e in EXPECTED])
def test_english_notes_say_what_is_wrong(english_run, tab, row, column, code, phrase):
    findings, _fills = english_run
    [finding] = [f for f in findings if (f.tab, f.row, f.code) == (tab, row, code)]
    assert phrase in finding.message


def test_english_notes_have_no_chinese(english_run):
    findings, _fills = english_run
    assert findings
    assert [f.message for f in findings if CJK.search(f.message)] == []


def test_empty_logistics_handler_is_routed_to_finance(english_run):
    _findings, fills = english_run
    assert [(f.tab, f.row, f.value) for f in fills] == [("After-sales disputes", 2, "Lily")]


def test_english_owners_are_team_roles(english_run, en):
    findings, _fills = english_run
    roles = set(en.tabs["members"].column("role").choices)
    assert {f.owner_role for f in findings} <= roles
    assert {f.code: f.owner_role for f in findings}["promo.unsigned"] == "finance"


# -- a workbook laid out by the Chinese template, read with the English one -------------------------


def test_chinese_workbook_binds_with_english_template(template, en):
    tabs = workbook_rows(en, titles=template, settings=[["客服首响时限(分钟)", "15", ""]])
    loaded = load(snapshot_of(tabs), en, NOW)
    for key, bound in loaded.workbook.tabs.items():
        assert bound.title == template.tabs[key].title
        assert bound.usable and bound.has(*(c.id for c in en.tabs[key].columns)), key
    assert loaded.settings.cs_first_response.total_seconds() == 15 * 60
    findings, fills = run_checks(en, tabs)
    assert {(f.tab, f.row, f.code) for f in findings} == \
           {(template.tabs[key].title, row, code) for key, row, code in (
               ("selection", 2, "selection.return_reason_missing"), ("promotions", 2, "stock.oversell"),
               ("promotions", 3, "promo.unsigned"), ("cs_log", 2, "cs.first_response"),
               ("cs_log", 3, "cs.unresolved"), ("disputes", 3, "dispute.handler_quality"),
               ("reviews", 2, "review.asked_before_solved"), ("reviews", 2, "review.not_satisfied"))}
    oversell = next(f for f in findings if f.code == "stock.oversell")
    assert (oversell.column, oversell.message.split(":")[0]) == \
           ("声明库存", "Declared stock is 5, but the Inventory tab has only 3 of SKU-3")
    assert [(f.tab, f.row, f.value) for f in fills] == [("售后纠纷", 2, "Lily")]


def test_english_template_on_a_chinese_workbook_finds_the_same_problems(template):
    """Headers, dropdown values, roles and solutions typed in Chinese all match their English
    counterparts, so switching template changes the language of the notes, not the findings."""
    from datetime import datetime

    from conftest import evaluate
    from sheetsync.demo import demo_rows
    from sheetsync.templates import load_template

    now = datetime(2026, 11, 22, 20, 0)
    rows = demo_rows(now)
    zh = {(f.tab, f.row, f.column, f.code) for f in evaluate(template, rows, now)}
    en = {(f.tab, f.row, f.column, f.code) for f in evaluate(load_template("en"), rows, now)}
    assert len(zh) > 20 and en == zh


# -- what an English shop reads in its workbook ------------------------------------------------------


def english_demo_run(tmp_path, capsys, *jobs: str, dry_run: bool = False):
    """`sheetsync run --template en` on the English demo shop (a real .xlsx); returns (book, stdout)."""
    from sheetsync.backends.xlsx import XlsxBackend
    from sheetsync.cli import main
    from sheetsync.core.layout import layouts_with_rows
    from sheetsync.demo import demo_rows

    tpl = load_template("en")
    book = tmp_path / "shop.xlsx"
    XlsxBackend(book).init_layout(layouts_with_rows(tpl, demo_rows(datetime(2026, 11, 22, 20, 0), tpl)))
    args = ["run", "--workbook", str(book), "--template", "en", "--now", "2026-11-22T20:00:00+08:00",
            "--no-send", *(["--dry-run"] if dry_run else []), *jobs]
    assert main(args) == 0
    return book, capsys.readouterr().out


def test_english_run_writes_no_chinese_in_notes_and_owned_tabs(tmp_path, capsys, en):
    import openpyxl

    book, _out = english_demo_run(tmp_path, capsys, "validate", "reconcile-stock", "weekly-summary")
    wb = openpyxl.load_workbook(book)
    notes = [(ws.title, c.coordinate, c.comment.text) for ws in wb for row in ws.iter_rows() for c in row
             if c.comment is not None and c.fill.fgColor.rgb.endswith("FFC7CE")]
    assert len(notes) > 20
    assert [n for n in notes if CJK.search(n[2])] == []
    assert all(text.startswith("[sheetsync] ") for _t, _c, text in notes)
    for key in ("problems", "runlog", "weekly"):
        rows = [[c for c in r if isinstance(c, str)] for r in wb[en.owned[key].title].iter_rows(values_only=True)]
        assert len(rows) > 1, key
        assert [r for r in rows if CJK.search(" ".join(r))] == [], key
    problems = list(wb["Open problems"].iter_rows(values_only=True))
    assert problems[0][:5] == ("Tab", "Row", "Column", "Cell", "Problem")
    oversell = next(r for r in problems if r[8] == "stock.oversell")
    assert "the Inventory tab has only 3 of LGD-S-300D: this will oversell" in oversell[4]
    assert list(wb["Run log"].iter_rows(values_only=True))[-1][-1] == "ok"
    weekly_header = next(wb["Weekly summary"].iter_rows(values_only=True))
    assert weekly_header[:4] == ("Week", "Start date", "End date", "Product pass rate")


def test_english_check_and_dry_run_print_no_chinese(tmp_path, capsys):
    from sheetsync.cli import main

    book, out = english_demo_run(tmp_path, capsys, "validate", dry_run=True)
    assert out and not CJK.findall(out), CJK.findall(out)[:10]
    assert main(["check", "--workbook", str(book), "--template", "en", "--now", "2026-11-22T20:00:00+08:00"]) == 1
    out = capsys.readouterr().out
    assert "'Promotions' row 14, 'Declared stock'  [stock.oversell]  Declared stock is 5" in out
    assert not CJK.findall(out), CJK.findall(out)[:10]


def test_a_mark_written_in_either_language_is_recognised_as_sheetsyncs():
    from sheetsync.core.model import NOTE_PREFIX, is_own_note, strip_note_prefix
    from sheetsync.i18n import languages, load_catalogue
    from sheetsync.i18n.findings import note_prefix

    for language in languages():
        prefix = note_prefix(load_catalogue(language))
        assert is_own_note(prefix + "reason") and strip_note_prefix(prefix + "reason") == "reason", language
    assert note_prefix(load_catalogue("zh-CN")) == NOTE_PREFIX
    assert not is_own_note("sheetsync said so") and not is_own_note("")


def test_english_marks_on_feishu_are_sheetsyncs_on_the_next_run(en):
    """The notes column of a Feishu sheet holds "<header>: [sheetsync] …": the English prefix is
    recognised, so an unchanged sheet is not written again."""
    from contextlib import ExitStack

    from conftest import FeishuShop
    from fake_feishu import start_fake_feishu
    from sheetsync.engine import run

    with ExitStack() as stack:
        shop = FeishuShop(stack.enter_context(start_fake_feishu(workbook_rows(en, titles=en, settings=EN_SETTINGS))))
        first = run(shop.backend(), get_jobs(["validate"]), now=NOW, template=en)
        assert first.changes.paints
        _value, _fill, note = shop.cell("Product checks", "K2")
        assert note and note.startswith("[sheetsync] ") and not CJK.search(note)
        again = run(shop.backend(), get_jobs(["validate"]), now=NOW, template=en)
        assert not again.changes.paints and not again.changes.unpaints
