"""The backup history beside a workbook: a person's version is never lost, sheetsync's own
writes are never what is kept, and a week of versions is kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import openpyxl

from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.backends.xlsx_backups import KEEP_DAYS, Backups
from sheetsync.core.model import NOTE_PREFIX, ChangeSet, Paint, Unpaint


def a_shop(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "库存"
    ws.append(["SKU", "库存"])
    ws.append(["A1", 3])
    ws.append(["B2", -1])
    wb.save(path)
    return path


def paint(path: Path, row: int, note: str) -> str | None:
    backend = XlsxBackend(path)
    result = backend.apply(ChangeSet(paints=[Paint("库存", row, 2, "", NOTE_PREFIX + note)]), backend.read())
    assert result.written == 1
    return result.backup


def test_the_backup_is_the_version_people_left_not_sheetsyncs_own(tmp_path: Path) -> None:
    shop = a_shop(tmp_path / "shop.xlsx")
    theirs = shop.read_bytes()

    first = paint(shop, 2, "库存太少")
    second = paint(shop, 3, "库存不能小于 0")  # sheetsync writes again: nobody saved in between

    assert first == second and first is not None
    assert Path(first).read_bytes() == theirs
    assert [p.read_bytes() for p in Backups(shop).copies()] == [theirs]

    wb = openpyxl.load_workbook(shop)  # a person edits and saves
    wb["库存"]["B2"] = 5
    wb.save(shop)
    edited = shop.read_bytes()
    third = XlsxBackend(shop)
    result = third.apply(ChangeSet(unpaints=[Unpaint("库存", 2, 2, "")]), third.read())

    assert result.backup is not None and Path(result.backup).read_bytes() == edited
    assert [p.read_bytes() for p in Backups(shop).copies()] == [theirs, edited]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.xlsx", "shop.xlsx.backups"]


def test_a_week_of_versions_is_kept_and_never_the_newest_removed(tmp_path: Path) -> None:
    shop = a_shop(tmp_path / "shop.xlsx")
    backups = Backups(shop)
    folder = backups.folder
    folder.mkdir()
    now = time.time()
    for days, name in ((10, "shop old.xlsx"), (KEEP_DAYS - 1, "shop recent.xlsx")):
        (folder / name).write_bytes(b"PK\x03\x04 earlier")
        os.utime(folder / name, (now - days * 86400, now - days * 86400))
    os.utime(shop, (now - 30 * 86400, now - 30 * 86400))  # people last saved a month ago

    kept = paint(shop, 2, "库存太少")

    assert kept is not None
    names = sorted(p.name for p in backups.copies())
    assert "shop old.xlsx" not in names and "shop recent.xlsx" in names
    assert Path(kept).name in names  # a month old, but the newest version: kept
    backups.prune(now=now + 365 * 86400)
    assert [p.name for p in backups.copies()] == [Path(kept).name]


def test_a_damaged_workbook_names_the_newest_backup(tmp_path: Path) -> None:
    shop = a_shop(tmp_path / "shop.xlsx")
    kept = paint(shop, 2, "库存太少")
    shop.write_bytes(shop.read_bytes()[:200])  # a sync cut it off
    backend = XlsxBackend(shop)
    try:
        backend.read()
    except Exception as exc:  # noqa: BLE001 - the message is what is checked
        assert str(kept) in str(exc)
    else:
        raise AssertionError("a cut-off file was read")
