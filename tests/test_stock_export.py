"""The back-office stock export: whatever the seller centre downloads, CSV (UTF-8 or GBK) or XLSX."""

from __future__ import annotations

import openpyxl
import pytest

from sheetsync.cli import main
from sheetsync.errors import ConfigError
from sheetsync.stock_export import load_stock_export


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_in_either_encoding(tmp_path, encoding):
    path = tmp_path / "库存导出.csv"
    path.write_text("商家编码,商品名称,可售库存\nlgd-r-030 ,戒指,12\nLGD-S-300D,裸石,\"1,003\"\n,空行,\n",
                    encoding=encoding)
    counts, source = load_stock_export(path)
    assert counts == {"LGD-R-030": 12.0, "LGD-S-300D": 1003.0} and source == "库存导出.csv"


def test_xlsx_export(tmp_path):
    path = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["SKU", "Stock"])
    wb.active.append(["LGD-R-030", 7])
    wb.save(path)
    assert load_stock_export(path)[0] == {"LGD-R-030": 7.0}


@pytest.mark.parametrize("content,message", [
    (None, "找不到后台库存导出文件"),
    ("编号,数量\nA,1\n", "需要「SKU」和「库存」两列, 现在的列是: 编号、数量"),
])
def test_clear_errors(tmp_path, content, message):
    path = tmp_path / "export.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_stock_export(path)


def test_stock_export_from_the_command_line(tmp_path, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", "--dir", str(folder), "--now", "2026-11-22T20:00:00+08:00"]) == 0
    capsys.readouterr()
    export = tmp_path / "export.csv"
    export.write_text("SKU,库存\nLGD-S-300D,9\n", encoding="utf-8")
    assert main(["check", "--workbook", str(folder / "demo.xlsx"), "--now", "2026-11-22T20:00:00+08:00",
                 "--stock-export", str(export), "--json"]) == 1
    import json

    problems = json.loads(capsys.readouterr().out)
    mismatch = [p for p in problems if p["code"] == "stock.export_mismatch"]
    assert any("后台导出(export.csv)是 9 件" in p["message"] for p in mismatch)
    assert any(p["code"] == "stock.export_missing_sku" for p in problems)
