"""The backends' words live in messages/backends.toml of each language: every key the code
uses exists in every language with the same parameters, English has no CJK, and the Python
sources of the backends hold no Chinese text."""

from __future__ import annotations

import re
import string
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment

from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.core.model import ChangeSet, FillValue, Paint, Unpaint
from sheetsync.i18n import load_catalogue

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ROOT / "sheetsync" / "backends"
LANGUAGES = ("zh-CN", "en")
# CJK ideographs and CJK / full-width punctuation (【】「」、，。：)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def sources() -> list[Path]:
    """The backends this file covers (the Feishu backend has its own catalogue)."""
    return sorted(p for p in BACKENDS.glob("*.py") if not p.name.startswith("feishu"))


def flat(data: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def catalogue_file(language: str) -> dict[str, str]:
    with open(ROOT / "sheet_templates" / language / "messages" / "backends.toml", "rb") as fh:
        return flat(tomllib.load(fh))


def fields(pattern: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


def keys_in_code() -> set[str]:
    keys: set[str] = set()
    for path in sources():
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'"(backends\.[a-z_]+(?:\.[a-z_]+)?)"', text))
        if path.name == "xlsx_parts.py":  # parts are named by backends.parts.<what>
            keys |= {f"backends.parts.{what}" for what in re.findall(r'Part\(.*?"([a-z_]+)"(?:, title)?\)', text)}
            keys |= {f"backends.parts.{what}" for what in re.findall(r'\("[a-z]+", "([a-z_]+)"\)', text)}
    return keys


def test_no_chinese_text_in_the_backend_sources() -> None:
    found = [f"{p.name}:{n}: {line.strip()}" for p in sources()
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if CJK.search(line)]
    assert found == []


def test_every_key_the_backends_use_is_in_every_language() -> None:
    used = keys_in_code()
    assert len(used) > 90  # the scan found the keys (a broken pattern would find none)
    assert any(k.startswith("backends.parts.") for k in used)
    for language in LANGUAGES:
        missing = sorted(used - set(catalogue_file(language)))
        assert missing == [], f"{language}/messages/backends.toml lacks {missing}"


def test_no_message_is_left_over() -> None:
    assert sorted(set(catalogue_file("zh-CN")) - keys_in_code()) == []


def test_both_languages_have_the_same_keys_and_parameters() -> None:
    zh, en = catalogue_file("zh-CN"), catalogue_file("en")
    assert sorted(zh) == sorted(en)
    assert {k: fields(v) for k, v in zh.items()} == {k: fields(v) for k, v in en.items()}


def test_english_backend_messages_have_no_cjk() -> None:
    assert [(k, v) for k, v in catalogue_file("en").items() if CJK.search(v)] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders(language: str) -> None:
    cat = load_catalogue(language)
    for key, pattern in catalogue_file(language).items():
        text = cat.text(key, **{name: "X" for name in fields(pattern)})
        assert "{" not in text, (key, text)


# ---------------------------------------------------------------------------------------------
# What an English-speaking shop reads from a real file


@pytest.fixture
def english_shop(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Stock"
    ws.append(["SKU", "Name", "Stock"])
    ws.append(["A1", "Ring", 3])
    ws.append(["B2", "Necklace", 0])
    ws["A3"].comment = Comment("supplier restocks next week", "Wang")
    path = tmp_path / "shop.xlsx"
    wb.save(path)
    return path


def test_skip_reasons_in_english(english_shop: Path) -> None:
    backend = XlsxBackend(english_shop)
    changes = ChangeSet(paints=[Paint("Stock", 3, 1, "B2", "[sheetsync] SKU is unknown\nfix it"),
                                Paint("Returns", 2, 2, "A1", "x")],
                        unpaints=[Unpaint("Stock", 2, 3, "A1")],
                        fills=[FillValue("Stock", 2, 2, "A1", "Bracelet")])

    result = backend.apply(changes, backend.read())

    en = load_catalogue("en")
    assert sorted(s.render(en) for s in result.skipped) == sorted([
        '"Stock" A3 already has a note written by someone else; not marked red (problem: SKU is unknown)',
        '"Returns" B2: there is no tab "Returns", so did not mark it red',
        '"Stock" C2 no longer has a sheetsync mark; nothing to remove',
        '"Stock" B2 was already filled in with "Ring" by someone; did not write "Bracelet"',
    ])


def test_a_chart_on_a_persons_tab_is_kept_in_an_english_shop(english_shop: Path) -> None:
    wb = openpyxl.load_workbook(english_shop)
    chart = BarChart()
    chart.add_data(Reference(wb["Stock"], min_col=3, min_row=1, max_row=3), titles_from_data=True)
    wb["Stock"].add_chart(chart, "F2")
    wb.save(english_shop)
    with zipfile.ZipFile(english_shop) as zf:
        before = zf.read("xl/charts/chart1.xml")
    backend = XlsxBackend(english_shop)

    result = backend.apply(ChangeSet(paints=[Paint("Stock", 2, 3, "A1", "[sheetsync] x")]), backend.read())

    assert (result.written, result.skipped) == (1, [])
    with zipfile.ZipFile(english_shop) as zf:
        assert zf.read("xl/charts/chart1.xml") == before


def test_words_written_into_the_workbook_follow_the_edge_language(tmp_path: Path) -> None:
    from sheetsync.core.model import ColumnLayout, TabLayout
    from sheetsync.i18n import active, set_language

    before = active()
    set_language("en")
    try:
        XlsxBackend(tmp_path / "shop.xlsx").init_layout(
            [TabLayout("Team", (ColumnLayout("Name"), ColumnLayout("Role", choices=("Buyer", "Support"))))])
    finally:
        set_language(before)
    (dropdown,) = openpyxl.load_workbook(tmp_path / "shop.xlsx")["Team"].data_validations.dataValidation
    assert dropdown.errorTitle == "Not one of the choices"
    assert dropdown.error.startswith('Please pick "Role" from the dropdown list.')
