"""Templates are data; a mistake in one is a clear error at load time."""

from __future__ import annotations

import re

import pytest

from sheetsync.errors import TemplateError
from sheetsync.paths import templates_dir
from sheetsync.core.template import load_template


@pytest.mark.parametrize("name", ["zh-CN", "en"])
def test_shipped_templates_load(name):
    tpl = load_template(name)
    assert len(tpl.kpis) == 4
    assert {t.role for t in tpl.tabs.values()} >= {"members", "settings", "inventory"}


def test_every_spec_tab_and_kpi_is_in_the_default_template(template):
    titles = [t.title for t in template.tabs.values()]
    assert titles == ["成员", "设置", "选品检查表", "推广确认单", "库存", "客服台账", "售后纠纷", "中差评"]
    assert [k.label for k in template.kpis] == ["选品合格率", "推广准确率", "客服响应率", "售后解决率"]
    assert [o.title for o in template.owned.values()] == ["周报", "问题清单", "运行记录", "_sheetsync"]


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
    ('when = { "结论" = "退回" }\nmessage', 'when = { "结论" = "退货" }\nmessage',
     "条件里「结论」的值「退货」不在可选值 合格/退回 里"),
    ('setting = "min_samples"', 'setting = "min_sample"', "setting「min_sample」不存在"),
    ('kind = "require_if"', 'kind = "required_if"', "规则类型「required_if」不认识"),
    ('numerator = { sla = "cs.first_response" }', 'numerator = { sla = "cs.first_reply" }',
     "不存在的 sla 规则「cs.first_reply」"),
    ('title = "周报"', 'name = "周报"', "缺少任务表 [owned.weekly] 的 title"),
    ('when = { "结论" = "退回" }', 'when = { 结论 = "退回" }', "不是合法的 TOML"),
])
def test_template_mistakes_are_clear_errors(broken, old, new, message):
    with pytest.raises(TemplateError) as err:
        load_template(broken(old, new))
    assert message in str(err.value)
    assert "broken.toml" in str(err.value)


def test_unknown_template_name_lists_the_available_ones():
    with pytest.raises(TemplateError, match=re.escape("可用的模板: en, zh-CN")):
        load_template("fr")
