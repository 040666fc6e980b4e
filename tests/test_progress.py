"""Long commands show their phases: a bar on a terminal, plain lines in a log, nothing when piped."""

from __future__ import annotations

import io
import logging

import pytest

from conftest import NOW, shop_rows
from sheetsync import app
from sheetsync.progress import Progress


class Terminal(io.StringIO):
    """What a terminal receives (a stream that says it is a TTY)."""

    def isatty(self) -> bool:
        return True


pytestmark = pytest.mark.usefixtures("chinese")


@pytest.fixture
def config(template, write_xlsx):
    return app.configure(None, workbook=str(write_xlsx(shop_rows(template))))


def test_a_terminal_sees_each_phase_and_a_bar(config):
    screen = Terminal()
    app.run_jobs(config, None, now=NOW, send=False, progress=Progress(screen, delay=0))
    shown = screen.getvalue()
    for words in ("正在读取 shop.xlsx", "检查 ", " 行", "整理要写入的改动", "写入 "):
        assert words in shown, (words, shown)
    assert "%|" in shown and "/3" in shown  # the checking bar counts the three default jobs


def test_a_short_command_draws_nothing(config):
    screen = Terminal()
    progress = Progress(screen, delay=3600)  # never reached: as a command quicker than the delay
    app.check_workbook(config, now=NOW, progress=progress)
    assert screen.getvalue() == ""
    assert progress.phases[0] == "正在读取 shop.xlsx"


def test_piped_nothing_extra_and_a_log_gets_plain_lines(config, caplog):
    piped = io.StringIO()
    with caplog.at_level(logging.INFO, logger="sheetsync.progress"):
        app.run_jobs(config, None, now=NOW, send=False, progress=Progress(piped, delay=0))
    assert piped.getvalue() == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "sheetsync.progress"]
    assert lines[0] == "正在读取 shop.xlsx" and lines[1].startswith("检查 ") and "写入 " in lines[-1]
    assert all("\r" not in line and "%" not in line for line in lines)


def test_the_run_command_piped_prints_what_it_printed_before(config, capsys, tmp_path):
    from sheetsync import cli

    code = cli.main(["run", "--workbook", str(config.workbook), "--now", "2026-11-22T20:00", "--no-send"])
    out = capsys.readouterr()
    assert code == 0 and out.err == ""
    assert "正在读取" not in out.out
