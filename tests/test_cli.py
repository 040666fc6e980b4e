"""The command line, as a shop owner types it."""

from __future__ import annotations

import json

import openpyxl
import pytest

from sheetsync.cli import main

NOW = "2026-11-22T20:00:00+08:00"


@pytest.fixture
def demo(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--now", NOW]) == 0
    out = capsys.readouterr().out
    return tmp_path / "demo", out


def test_demo_writes_a_workbook_runs_every_job_and_says_where(demo):
    folder, out = demo
    assert f"演示工作簿: {folder / 'demo.xlsx'}" in out
    wb = openpyxl.load_workbook(folder / "demo.xlsx")
    assert {"周报", "问题清单", "运行记录", "_sheetsync"} <= set(wb.sheetnames)
    notes = [c.comment.text for row in wb["推广确认单"].iter_rows() for c in row if c.comment]
    assert any("只有 3 件, 会超卖" in n for n in notes)
    outbox = folder / ".sheetsync" / "demo.xlsx" / "outbox"
    assert (outbox / "weekly-2026-11-16.eml").exists()
    assert f"消息保存在 {outbox}" in out
    assert "周报 11.16–11.22: 选品合格率" in out


def test_check_lists_problems_and_exits_1(demo, capsys):
    folder, _ = demo
    assert main(["check", "--workbook", str(folder / "demo.xlsx"), "--now", NOW]) == 1
    out = capsys.readouterr().out
    assert "「推广确认单」第" in out and "[stock.oversell]" in out and out.strip().endswith("个问题。")


def test_check_json(demo, capsys):
    folder, _ = demo
    assert main(["check", "--workbook", str(folder / "demo.xlsx"), "--now", NOW, "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)
    oversell = [p for p in problems if p["code"] == "stock.oversell"]
    assert oversell and set(oversell[0]) == {"tab", "row", "column", "cell", "value", "code", "message", "owner_role"}
    assert oversell[0]["tab"] == "推广确认单" and oversell[0]["column"] == "声明库存"


def test_check_on_a_clean_new_workbook_exits_0(tmp_path, capsys):
    path = tmp_path / "shop.xlsx"
    assert main(["init", "--workbook", str(path)]) == 0
    assert "已创建 17 张表" in capsys.readouterr().out
    assert main(["check", "--workbook", str(path), "--now", NOW]) == 0
    assert "没有发现问题" in capsys.readouterr().out
    assert main(["init", "--workbook", str(path)]) == 0
    assert "已有的 17 张表保持不变" in capsys.readouterr().out


def test_run_dry_run_prints_changes_and_writes_nothing(demo, capsys):
    folder, _ = demo
    path = folder / "demo.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["客服台账"]["I2"] = "否"
    wb.save(path)
    before = path.read_bytes()
    assert main(["run", "--workbook", str(path), "--now", NOW, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "预览 (--dry-run), 没有写入" in out and "标红 「客服台账」I2" in out
    assert path.read_bytes() == before


def test_second_run_says_nothing_changed(demo, capsys):
    folder, _ = demo
    assert main(["run", "--workbook", str(folder / "demo.xlsx"), "--now", NOW]) == 0
    assert "没有新的变化, 工作簿没有改动" in capsys.readouterr().out


def test_jobs_lists_next_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["jobs", "--now", "2026-11-22T19:00:00+08:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["validate", "reconcile-stock", "weekly-summary", "daily-digest",
                                                     "cs-scorecard"]
    assert "每 2 分钟" in out[0] and "下次 2026-11-22 19:02" in out[0]  # no workbook: round the clock, 检查间隔 2
    assert "每周日 20:00" in out[2] and "下次 2026-11-22 20:00" in out[2]
    assert "每月1日 09:00" in out[4] and "下次 2026-12-01 09:00" in out[4]


@pytest.mark.parametrize("argv,message", [
    (["check", "--now", NOW], "没有指定工作簿"),
    (["check", "--workbook", "nope.xlsx", "--now", NOW], "nope.xlsx"),
    (["check", "--workbook", "x.xlsx", "--now", "下周"], "--now 看不懂: 下周"),
    (["run", "nightly", "--workbook", "x.xlsx"], "没有这个任务: nightly"),
    (["check", "--workbook", "x.xlsx", "--template", "fr"], "找不到模板「fr」"),
])
def test_errors_are_one_clear_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) >= 2
    err = capsys.readouterr().err
    assert err.startswith("sheetsync: ") and message in err and "Traceback" not in err


def test_config_file_supplies_the_workbook(demo, capsys, monkeypatch):
    folder, _ = demo
    (folder / "sheetsync.toml").write_text('workbook = "demo.xlsx"\n', encoding="utf-8")
    monkeypatch.chdir(folder)
    assert main(["check", "--now", NOW]) == 1
    assert "[stock.oversell]" in capsys.readouterr().out


def test_run_refuses_while_the_scheduler_runs_the_same_job(demo, capsys):
    from sheetsync.scheduler import job_lock

    folder, _ = demo
    (folder / "sheetsync.toml").write_text('workbook = "demo.xlsx"\nstate_dir = "."\n', encoding="utf-8")
    with job_lock(folder, "validate") as got:
        assert got
        code = main(["run", "validate", "--config", str(folder / "sheetsync.toml"), "--now", NOW])
    assert code == 3
    assert "另一个 sheetsync 进程正在运行「validate」" in capsys.readouterr().err


def test_google_spreadsheet_from_the_command_line(tmp_path, monkeypatch, capsys):
    """init / check / run with --spreadsheet: the key from GOOGLE_APPLICATION_CREDENTIALS, the
    API base URL from SHEETSYNC_GOOGLE_ENDPOINT (as a user behind a proxy would set it)."""
    from fake_sheets import start_fake_sheets

    monkeypatch.chdir(tmp_path)  # the outbox and locks go to ./.sheetsync
    with start_fake_sheets({"Sheet1": [["随便写的"]]}) as fake:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(fake.key_file))
        monkeypatch.setenv("SHEETSYNC_GOOGLE_ENDPOINT", fake.endpoint)
        url = f"https://docs.google.com/spreadsheets/d/{fake.spreadsheet_id}/edit#gid=0"
        assert main(["init", "--spreadsheet", url]) == 0
        assert "已创建 17 张表" in capsys.readouterr().out
        assert fake.tab("Sheet1").rows == [["随便写的"]]  # a tab that was there is left alone
        assert main(["check", "--spreadsheet", url, "--now", NOW]) == 0
        fake.model.set_value("客服台账", 2, 2, "王女士")
        fake.model.set_value("客服台账", 2, 3, "产品咨询")
        fake.model.set_value("客服台账", 2, 5, "2026-11-22 10:00")
        fake.model.set_value("客服台账", 2, 9, "否")
        capsys.readouterr()
        assert main(["run", "--spreadsheet", url, "--now", NOW]) == 0
        assert "已写入" in capsys.readouterr().out
        assert fake.tab("客服台账").fills.get((2, 9)) == "FFC7CE"
