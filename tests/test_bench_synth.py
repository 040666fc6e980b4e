"""The benchmark's synthetic workbook: the size asked for, about 10% bad rows, each bad row found
by the real checks and no clean row flagged — otherwise the benchmark would time the wrong work."""

from __future__ import annotations

from collections import defaultdict

import pytest

from bench.synth import CS_DEFECTS, CS_TITLE, DISPUTE_DEFECTS, DISPUTES_TITLE, generate, write_xlsx
from conftest import evaluate

N = 1000

# defect planted by the generator -> the reason codes sheetsync must report on that row
EXPECTED_CODES = {
    CS_TITLE: {
        "late": {"cs.first_response"},
        "overdue": {"cs.first_response.overdue"},
        "unresolved": {"cs.unresolved"},
        "no_customer": {"column.required"},
        "bad_type": {"parse.choice"},
        "unreadable_time": {"parse.datetime"},
        "before_start": {"cs.first_response.before_start"},
    },
    DISPUTES_TITLE: {
        "late_reply": {"dispute.first_reply"},
        "late_verify": {"dispute.qc_verify"},
        "wrong_handler": {"dispute.handler_quality"},
        "wrong_solution": {"dispute.solution_mismatch"},
        "late_resolve": {"dispute.resolve"},
        "open_overdue": {"dispute.resolve.overdue"},
        "resolved_without_time": {"dispute.resolved_without_time", "dispute.resolve.overdue"},
        "unreadable_time": {"parse.datetime"},
    },
}


@pytest.fixture(scope="module")
def synthetic(template):
    return generate(N, seed=7, template=template)


@pytest.fixture(scope="module")
def codes_by_row(template, synthetic):
    found: dict[str, dict[int, set[str]]] = {CS_TITLE: defaultdict(set), DISPUTES_TITLE: defaultdict(set)}
    for f in evaluate(template, synthetic.tabs, synthetic.now):
        if f.tab in found:
            found[f.tab][f.row].add(f.code)
    return found


def test_defect_table_covers_every_defect_kind():
    assert set(EXPECTED_CODES[CS_TITLE]) == set(CS_DEFECTS)
    assert set(EXPECTED_CODES[DISPUTES_TITLE]) == set(DISPUTE_DEFECTS)


@pytest.mark.parametrize("title", [CS_TITLE, DISPUTES_TITLE])
def test_size_and_share_of_bad_rows(template, synthetic, title):
    assert synthetic.data_rows(title) == N
    tab = next(t for t in template.tabs.values() if t.title == title)
    assert synthetic.tabs[title][0] == [c.name for c in tab.columns]
    assert synthetic.bad_share(title) == pytest.approx(0.10, abs=0.005)
    assert set(synthetic.defects[title].values()) == set(EXPECTED_CODES[title])  # every kind occurs


@pytest.mark.parametrize("title", [CS_TITLE, DISPUTES_TITLE])
def test_every_bad_row_is_found_and_no_clean_row_is_flagged(synthetic, codes_by_row, title):
    planted = synthetic.defects[title]
    found = codes_by_row[title]
    assert {row: codes for row, codes in found.items() if row not in planted} == {}
    assert {row: (defect, found.get(row, set())) for row, defect in planted.items()
            if found.get(row, set()) != EXPECTED_CODES[title][defect]} == {}


def test_messy_but_valid_forms_are_present(synthetic):
    cells = [c for row in synthetic.tabs[CS_TITLE][1:] for c in row if isinstance(c, str)]
    assert any("/" in c and ":" in c for c in cells)  # '2026/11/20 10:05'
    assert any("年" in c and "点" in c for c in cells)  # '2026年11月20日 10点05分'
    assert "✓" in cells and "Y" in cells


def test_same_seed_same_rows_other_seed_other_rows(template, synthetic):
    assert generate(N, seed=7, template=template).tabs == synthetic.tabs
    assert generate(N, seed=8, template=template).tabs[CS_TITLE] != synthetic.tabs[CS_TITLE]


def test_xlsx_file_reads_back_with_the_same_rows(synthetic, tmp_path):
    from sheetsync.backends.xlsx import XlsxBackend

    path = write_xlsx(synthetic.tabs, tmp_path / "synthetic.xlsx")
    snapshot = XlsxBackend(path).read()
    assert set(snapshot.tabs) == set(synthetic.tabs)
    assert len(snapshot.tabs[DISPUTES_TITLE].rows) == N + 1
    assert snapshot.tabs[CS_TITLE].rows[0] == synthetic.tabs[CS_TITLE][0]
