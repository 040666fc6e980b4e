"""Templates are data; a mistake in one is a clear error at load time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sheetsync.errors import TemplateError
from sheetsync.paths import templates_dir
from sheetsync.templates import load_template
from sheetsync.i18n.findings import catalogue_for, with_messages


@pytest.mark.parametrize("name", ["zh-CN", "en"])
def test_shipped_templates_load(name):
    tpl = load_template(name)
    assert len(tpl.kpis) == 8
    assert {t.role for t in tpl.tabs.values()} >= {"members", "settings", "inventory"}


def test_every_spec_tab_and_kpi_is_in_the_default_template(template):
    titles = [t.title for t in template.tabs.values()]
    assert titles == ["成员", "设置", "选品检查表", "推广确认单", "库存", "客服台账", "售后纠纷", "中差评", "订单", "退货",
                      "排班", "话术"]
    assert [k.label for k in template.kpis] == ["选品合格率", "推广准确率", "客服响应率", "售后解决率", "退货率", "询单转化率",
                                                "售后纠纷数", "差评挽回率"]
    assert [o.title for o in template.owned.values()] == ["周报", "问题清单", "运行记录", "_sheetsync", "客服绩效"]


@pytest.fixture
def broken(tmp_path):
    source = (templates_dir() / "zh-CN" / "workbook.toml").read_text(encoding="utf-8")

    def _make(old: str, new: str, count: int = 1):
        assert old in source, old
        path = tmp_path / "broken.toml"
        path.write_text(source.replace(old, new, count), encoding="utf-8")
        return path

    return _make


@pytest.mark.parametrize("old,new,message", [
    ('{ id = "samples", name = "样品数", aliases = ["samples"], type = "int"',
     '{ id = "samples", name = "样品数", aliases = ["samples"], type = "integer"',
     "列「样品数」的类型「integer」不认识"),
    ('column = "退回原因"\nwhen', 'column = "退货原因"\nwhen',
     "column 引用了不存在的列「退货原因」(最像的: 退回原因"),
    ('column = "退回原因"\nwhen = { "结论" = "退回" }', 'column = "退回原因"\nwhen = { "结论" = "退货" }',
     "条件里「结论」的值「退货」不在可选值 合格、退回 里"),
    ('setting = "min_samples"', 'setting = "min_sample"', "setting「min_sample」不存在"),
    ('kind = "require_if"', 'kind = "required_if"', "规则类型「required_if」不认识"),
    ('numerator = { sla = "cs.first_response" }', 'numerator = { sla = "cs.first_reply" }',
     "不存在的 sla 规则「cs.first_reply」"),
    ('title = "周报"', 'name = "周报"', "[owned.weekly]: 缺少任务表的 title"),
    ('when = { "结论" = "退回" }', 'when = { 结论 = "退回" }', "不是合法的 TOML"),
    # any rule is checked from its kind's declaration: unknown and missing parameters, columns
    ('setting = "min_samples"', 'setting = "min_samples"\nsetings = 3',
     "[tabs.selection] 的规则 selection.too_few_samples: at_least 规则没有参数「setings」(最像的: setting)"),
    ('setting = "min_samples"\n', '',
     "[tabs.selection] 的规则 selection.too_few_samples: at_least 规则缺少参数「setting」"),
    ('other = "开始时间"', 'other = "开始时刻"',
     "[tabs.promotions] 的规则 promo.end_before_start: other 引用了不存在的列「开始时刻」(最像的: 开始时间;"),
    ('watch = ["适用商品", "声明库存"', 'watch = ["适用商品", "声明库"',
     "promo.changed_after_sign: watch 引用了不存在的列「声明库」(最像的: 声明库存;"),
    ('clock = "calendar"', 'clock = "wall"', "review.found_late: clock 不能是「wall」, 只能是 work、calendar"),
    ('overdue = false', 'overdue = "no"', "review.found_late: 参数「overdue」应该是 true 或 false"),
])
def test_template_mistakes_are_clear_errors(broken, old, new, message):
    with pytest.raises(TemplateError) as err:
        load_template(broken(old, new))
    assert message in str(err.value)
    assert "broken.toml" in str(err.value)


def test_unknown_template_name_lists_the_available_ones():
    with pytest.raises(TemplateError, match=re.escape("可用的模板: en、zh-CN")):
        load_template("fr")


# -- the 设置 rows and the binding/settings messages are template data --------------------------


@pytest.mark.parametrize("name", ["zh-CN", "en"])
def test_every_setting_is_declared_and_its_defaults_are_the_typed_ones(name):
    from dataclasses import replace

    from sheetsync.core.settings import SETTING_TYPES, WORD_SETTINGS, Settings, settings_from_rows

    tpl = load_template(name)
    assert [(s.id, s.type) for s in tpl.settings] == list(SETTING_TYPES.items())
    worded = settings_from_rows([], specs=tpl.settings)
    assert replace(worded, **{k: getattr(Settings(), k) for k in WORD_SETTINGS}) == Settings()
    assert all(getattr(worded, k) for k in WORD_SETTINGS)  # each language words them
    assert all(s.help and s.name for s in tpl.settings)


def test_both_languages_declare_the_same_settings():
    zh, en = load_template("zh-CN"), load_template("en")
    assert [(s.id, s.type, s.unit) for s in en.settings] == [(s.id, s.type, s.unit) for s in zh.settings]
    for z, e in zip(zh.settings, en.settings, strict=True):
        assert z.name in e.aliases and e.name.lower() in {a.lower() for a in z.aliases}, z.id  # either name works


CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uff0f\uff1a-\uff20【】「」、，。：]")
PLACEHOLDER = re.compile(r"{(\w+)}")


@pytest.mark.parametrize("area", ["binding", "settings"])
def test_messages_exist_in_both_languages_with_the_same_placeholders(area):
    import tomllib

    from sheetsync.i18n.catalogue import _flatten

    def entries(lang):
        return _flatten(tomllib.loads((templates_dir() / lang / "messages" / f"{area}.toml").read_text("utf-8")))

    zh, en = entries("zh-CN"), entries("en")
    assert set(zh) == set(en)
    for key, text in zh.items():
        assert set(PLACEHOLDER.findall(en[key])) == set(PLACEHOLDER.findall(text)), key
        assert not CJK.search(en[key]), key


def test_every_code_binding_and_settings_emit_has_a_message():
    from sheetsync.core import parsing

    for name in ("zh-CN", "en"):
        tpl = load_template(name)
        codes = [f"parse.{k}" for k in parsing.ERROR_KINDS] + [
            "tab.missing", "tab.missing_near", "tab.duplicate", "tab.other_template", "tab.missing_column",
            "tab.missing_column_near", "tab.missing_required_column", "tab.missing_required_column_near",
            "layout.merged", "layout.merged_header", "layout.duplicate_header", "cell.formula_error",
            "column.required", "column.unique", "column.min", "settings.unknown_key"] + [
            f"settings.bad.{p}" for p in ("tz", "duration", "limit", "limit_too_long", "count", "time",
                                          "time_range", "time_order", "weekday_time", "date", "email")]
        cat = catalogue_for(tpl)
        assert [c for c in codes if not cat.has(f"findings.{c}")] == [], name


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_cell_note_says_what_to_do_after_what_it_found(lang):
    # A note on a cell that cannot be read or breaks a column check goes on, after the value it
    # quotes, with what to write instead: a note ending on the value leaves the person guessing.
    import tomllib

    from sheetsync.i18n.catalogue import _flatten

    words = tomllib.loads((templates_dir() / lang / "messages" / "binding.toml").read_text("utf-8"))
    notes = _flatten({"parse": words["findings"]["parse"], "column": words["findings"]["column"]})
    assert len(notes) >= 13
    # what follows the quoted value ({raw} or {value}) and the end of that sentence
    after = {key: re.split(r"{(?:raw|value)}", text)[-1] for key, text in notes.items()}
    told = {key: re.split(r"[。！]|[.!]\s", tail + " ", maxsplit=1)[1:] for key, tail in after.items()}
    assert [key for key, rest in told.items() if len(re.sub(r"\W", "", "".join(rest))) < 3] == []


def test_a_settings_value_that_is_wrong_in_english(tmp_path):
    from sheetsync.core.settings import settings_from_rows

    en = load_template("en")
    s = settings_from_rows([["Setting", "Value"], ["Working hours", "23:00-09:00"], ["weekly summary time", "Sun 8pm"],
                            ["Weekly summary recipients", "boss, a@b.c"]], specs=en.settings)
    assert [f.message for f in with_messages(s.findings, catalogue_for(en))] == [
        "Setting 'Working hours': the end must be later than the start (no overnight hours): 23:00-09:00. "
        "Write a range within one day, like 09:00-23:00. The default is used until it is fixed.",
        "Setting 'Weekly summary recipients': not an e-mail address: boss. Write full addresses like "
        "name@example.com, several separated by commas. The default is used until it is fixed."]
    assert (s.weekly_weekday, s.weekly_time.hour) == (6, 20)


@pytest.mark.parametrize("old,new,zh,en", [
    ('id = "min_samples"', 'id = "min_sample"', "[[settings]] #13: 设置 id「min_sample」不存在",
     "[[settings]] #13: there is no setting with id 'min_sample'"),
    ('unit = "hours"\ndefault = "2"', 'unit = "weeks"\ndefault = "2"', "时长设置「qc_verify」要写 unit",
     "the duration setting 'qc_verify' needs a unit"),
    ('default = "周日 20:00"', 'default = "礼拜八"', "设置「weekly」的 default「礼拜八」不是这个设置能用的值",
     "the default '礼拜八' cannot be used for setting 'weekly'"),
    ('bool_choices = ["是", "否"]', 'bool_choices = ["是"]', "bool_choices 要写两个值",
     "bool_choices needs two values"),
    ('role = "settings"', 'role = "setting"', "[tabs.settings]: 未知的 role「setting」",
     "[tabs.settings]: unknown role 'setting'"),
])
def test_settings_and_layout_mistakes_in_a_template_are_clear_in_both_languages(broken, old, new, zh, en):
    from sheetsync.i18n import load_catalogue

    with pytest.raises(TemplateError) as err:
        load_template(broken(old, new))
    assert zh in err.value.render(load_catalogue("zh-CN")) and "broken.toml" in str(err.value)
    assert en in err.value.render(load_catalogue("en"))


# -- docs/templates.md and the registry say the same ------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "templates.md"


def _docs_sections() -> dict[str, str]:
    text = DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^### `(\w+)`\n", text, flags=re.M)
    return {name: body.split("\n## ")[0] for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def _rows(body: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in body.splitlines()
            if line.startswith("| `")]


def test_docs_describe_every_rule_kind_as_declared():
    from sheetsync.core.rules import KINDS

    sections = _docs_sections()
    assert list(sections) == list(KINDS)
    for name, kind in KINDS.items():
        rows = _rows(sections[name])
        params = [(r[0].strip("`"), r[1].split(":")[0], r[2]) for r in rows if not r[0].startswith("`<code>")]
        assert params == [(p.name, p.type, "required" if p.required else "optional") for p in kind.params], name
        emits = [(r[0].strip("`"), r[1].strip("`"), set(re.findall(r"`\{(\w+)\}`", r[2])))
                 for r in rows if r[0].startswith("`<code>")]
        assert emits == [(e.code("<code>"), e.field or "—", set(e.placeholders)) for e in kind.emits], name


def test_docs_list_every_code():
    from sheetsync.core.rules import all_codes
    from sheetsync.i18n import load_catalogue

    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("\n## Codes\n"):].split("\n## ")[1]
    documented = [r[0].strip("`") for r in _rows(section)]
    assert len(documented) == len(set(documented))
    cat = load_catalogue("zh-CN")
    worded = {k.partition(".")[2] for k in cat.entries
              if k.split(".")[0] in ("findings", "finding") and k.split(".")[1] not in ("where", "part")
              and k not in ("findings.note_prefix", "findings.unworded")}
    assert set(documented) == worded | set(all_codes(load_template("zh-CN")))


def test_a_rule_can_reword_its_own_code_and_a_new_rule_reads_in_its_kinds_words(broken, template):
    from conftest import NOW, base_tabs, evaluate, row_for
    from datetime import datetime

    path = broken('code = "selection.return_reason_missing"\ncolumn = "退回原因"\n',
                  'code = "selection.return_reason_missing"\ncolumn = "退回原因"\nmessage = "退回要写原因: {column}"\n')
    source = path.read_text(encoding="utf-8")
    path.write_text(source.replace("[tabs.promotions]", '''[[tabs.selection.rules]]
kind = "require_if"
code = "selection.sku_missing"
column = "SKU"
when = { "结论" = "合格" }

[messages.findings]
"selection.too_few_samples" = "样品不够: {value}/{expected}"

[tabs.promotions]''', 1), encoding="utf-8")
    shop = load_template(path)
    tabs = base_tabs(shop)
    tabs["选品检查表"].append(row_for(shop, "selection", date=datetime(2026, 11, 20), product="戒指", supplier="A",
                                     verdict="退回", checker="周一军", first_time="是", samples=1))
    tabs["选品检查表"].append(row_for(shop, "selection", date=datetime(2026, 11, 20), product="耳钉", supplier="A",
                                     verdict="合格", checker="周一军"))
    got = {(f.row, f.code): f.message for f in evaluate(shop, tabs, NOW)}
    assert got[(2, "selection.return_reason_missing")] == "退回要写原因: 退回原因"
    assert got[(2, "selection.too_few_samples")] == "样品不够: 1/2"
    assert got[(3, "selection.sku_missing")] == "「SKU」是必填的, 现在是空的。请补上。"  # [kinds] require_if
