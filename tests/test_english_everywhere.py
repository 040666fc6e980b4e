"""With the English template on an English workbook, nothing sheetsync prints or writes contains a
Chinese character or CJK punctuation: CLI output, help, argument and configuration errors, notes,
job-owned tabs, the hidden state tab's header, the e-mails."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-22T20:00+08:00"


def sheetsync(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "sheetsync.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def chinese(text: str) -> list[str]:
    """The lines of ``text`` holding CJK characters (for a readable failure)."""
    return [line for line in text.splitlines() if CJK.search(line)]


@pytest.fixture(scope="module")
def english_demo(tmp_path_factory) -> tuple[Path, list[subprocess.CompletedProcess]]:
    folder = tmp_path_factory.mktemp("en")
    demo = sheetsync("demo", "--template", "en", "--dir", "shop", "--now", NOW, cwd=folder)
    assert demo.returncode == 0, demo.stderr
    return folder, [demo]


def test_demo_output_and_workbook_are_english(english_demo):
    folder, [demo] = english_demo
    assert chinese(demo.stdout + demo.stderr) == []
    import openpyxl

    [book] = (folder / "shop").glob("*.xlsx")
    wb = openpyxl.load_workbook(book)
    found = []
    for ws in wb.worksheets:
        if CJK.search(ws.title):
            found.append(f"tab title {ws.title}")
        for row in ws.iter_rows():
            for cell in row:
                for text in (cell.value, cell.comment.text if cell.comment else None):
                    if isinstance(text, str) and CJK.search(text):
                        found.append(f"{ws.title}!{cell.coordinate}: {text[:80]}")
    assert found == []
    assert "kind" in [c.value for c in wb["_sheetsync"][1]]  # the hidden state tab's header is English too


def test_outbox_messages_are_english(english_demo):
    folder, _ = english_demo
    files = [p for p in (folder / "shop").rglob("*") if p.suffix in (".eml", ".html", ".txt", ".json")]
    assert any(p.suffix == ".eml" for p in files)
    found = []
    for path in files:
        if path.suffix == ".eml":
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            parts = [str(msg["Subject"]), str(msg["From"] or ""), str(msg["To"] or "")]
            parts += [part.get_content() for part in msg.walk() if part.get_content_maintype() == "text"]
            text = "\n".join(parts)
        else:
            text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {line[:100]}" for line in chinese(text)]
    assert found == []


@pytest.mark.parametrize("args", [
    ("--help",), ("init", "--help"), ("check", "--help"), ("run", "--help"), ("jobs", "--help"),
    ("schedule", "--help"), ("demo", "--help"),
])
def test_help_is_english(tmp_path, args):
    if args == ("--help",):  # no subcommand to take --template: the language comes from sheetsync.toml
        (tmp_path / "sheetsync.toml").write_text('template = "en"\n')
        result = sheetsync("--help", cwd=tmp_path)
    else:
        result = sheetsync(*args[:-1], "--template", "en", args[-1], cwd=tmp_path)
    assert result.returncode == 0
    assert chinese(result.stdout + result.stderr) == []


@pytest.mark.parametrize("args", [("run", "--bogus"), ("frobnicate",), ("check", "--now", "someday"),
                                  ("run", "no-such-job", "--workbook", "x.xlsx")])
def test_argument_errors_are_english(tmp_path, args):
    result = sheetsync(*args, "--template", "en", cwd=tmp_path)
    assert result.returncode != 0 and result.stderr.strip()
    assert "Traceback" not in result.stderr
    assert chinese(result.stdout + result.stderr) == []


def test_commands_on_the_english_workbook_speak_english(english_demo):
    folder, _ = english_demo
    [book] = (folder / "shop").glob("*.xlsx")
    for args in (("check", "--workbook", str(book)), ("check", "--json", "--workbook", str(book)),
                 ("run", "--dry-run", "--workbook", str(book)), ("jobs", "--workbook", str(book)),
                 ("run", "--workbook", str(folder / "missing.xlsx"))):
        result = sheetsync(*args, "--template", "en", "--now", NOW, cwd=folder)
        assert "Traceback" not in result.stderr, result.stderr
        assert chinese(result.stdout + result.stderr) == [], args


def test_configuration_errors_are_english(tmp_path):
    (tmp_path / "sheetsync.toml").write_text('template = "en"\nworkbook = "shop.xlsx"\n\n[delivery]\nsmpt = {}\n')
    result = sheetsync("check", "--now", NOW, cwd=tmp_path)
    assert result.returncode != 0 and "smpt" in result.stderr
    assert chinese(result.stdout + result.stderr) == []
    (tmp_path / "sheetsync.toml").write_text('template = "en"\nworkbook = [\n')  # unreadable: say so in --template's language
    result = sheetsync("check", "--template", "en", "--now", NOW, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert chinese(result.stdout + result.stderr) == []
