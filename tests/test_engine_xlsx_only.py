"""Behaviour only the xlsx backend has: lock files, the file changing on disk, formula-like text, charts."""

from __future__ import annotations

import zipfile
from datetime import datetime

import openpyxl
import pytest

from conftest import NOW, shop_rows
from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.engine import run
from sheetsync.errors import WorkbookBusyError
from sheetsync.registry import get_jobs

D = datetime


def do_run(path, now=NOW, jobs=None, **kw):
    return run(XlsxBackend(path), get_jobs(jobs), now=now, **kw)


def cell(path, title, ref):
    return openpyxl.load_workbook(path)[title][ref]


@pytest.fixture
def workbook(template, write_xlsx):
    return write_xlsx(shop_rows(template))


def test_formula_like_text_is_copied_as_text(workbook):
    do_run(workbook)
    wb = openpyxl.load_workbook(workbook)
    values = [r[9] for r in wb["问题清单"].iter_rows(min_row=2, values_only=True)]
    assert '=IMPORTXML("http://x","//a")' not in values  # the summary cell is not a problem itself
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_name("客服台账").to_python()
    assert sheet[1][3] == '=IMPORTXML("http://x","//a")'


class PersonSavesDuringRun(XlsxBackend):
    """The shared file is saved by a person right after sheetsync read it."""

    def read(self):
        snapshot = super().read()
        wb = openpyxl.load_workbook(self.path)
        wb["客服台账"]["B3"] = "李先生(改)"
        wb.save(self.path)
        return snapshot


def test_refuses_when_the_file_changed_on_disk(workbook):
    with pytest.raises(WorkbookBusyError) as err:
        run(PersonSavesDuringRun(workbook), get_jobs(None), now=NOW)
    assert "没有写入" in str(err.value)
    assert cell(workbook, "客服台账", "B3").value == "李先生(改)"
    assert openpyxl.load_workbook(workbook)["客服台账"]["I2"].comment is None  # nothing of ours landed


def test_refuses_while_open_in_excel(workbook):
    lock = workbook.with_name("~$" + workbook.name)
    lock.write_bytes(b"x")
    with pytest.raises(WorkbookBusyError) as err:
        do_run(workbook)
    assert lock.name in str(err.value)


def test_chart_on_the_weekly_tab_survives_later_runs(workbook):
    do_run(workbook, jobs=["weekly-summary"])
    assert openpyxl.load_workbook(workbook)["周报"].protection.sheet
    assert any(n.startswith("xl/charts/chart") for n in zipfile.ZipFile(workbook).namelist())
    wb = openpyxl.load_workbook(workbook)
    wb["客服台账"]["I3"] = "否"  # something new for validate to paint
    wb.save(workbook)
    report = do_run(workbook, jobs=["validate"])
    assert report.applied is not None  # it wrote, and did not refuse because of its own chart
    assert any(n.startswith("xl/charts/chart") for n in zipfile.ZipFile(workbook).namelist())
