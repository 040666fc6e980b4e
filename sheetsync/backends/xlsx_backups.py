"""The backup history of an .xlsx workbook: every version people left, kept for a week.

Before sheetsync replaces the file it keeps a copy of it, but only when that file is a version
people made: when it is exactly what sheetsync itself wrote last time (nobody saved since),
there is nothing of theirs to keep, and the backup from before that write is the one to go
back to. So however often sheetsync writes, the newest backup is always the workbook as people
left it before sheetsync's first write after their edit.

The copies live in a folder beside the workbook, ``<name>.backups/``, named by when the version
was saved (``shop 2026-11-22 200501.xlsx``). Copies kept more than ``KEEP_DAYS`` days ago are
removed, never the newest one, and never more than ``KEEP_MAX`` are kept. The folder also holds
``last-write.sha256``, the content hash of sheetsync's last write.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

KEEP_DAYS = 7
KEEP_MAX = 200
LAST_WRITE = "last-write.sha256"


class Backups:
    def __init__(self, path: Path):
        self.path = path
        self.folder = path.with_name(path.name + ".backups")
        self.legacy = path.with_name(path.name + ".bak")  # where earlier versions kept one copy

    def copies(self) -> list[Path]:
        """The kept versions, oldest first."""
        try:
            found = [p for p in self.folder.iterdir() if p.is_file() and p.suffix == self.path.suffix]
        except OSError:
            return []
        return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def newest(self) -> Path | None:
        copies = self.copies()
        if copies:
            return copies[-1]
        return self.legacy if self.legacy.is_file() else None

    def newest_usable(self) -> Path | None:
        """The newest copy that is not empty (what to offer when the workbook is damaged)."""
        candidates = [*self.copies(), *([self.legacy] if self.legacy.is_file() else [])]
        for path in sorted(candidates, key=lambda p: p.stat().st_mtime_ns, reverse=True):
            try:
                if path.stat().st_size > 0:
                    return path
            except OSError:
                continue
        return None

    def last_write(self) -> str | None:
        try:
            return (self.folder / LAST_WRITE).read_text(encoding="ascii").strip() or None
        except (OSError, UnicodeDecodeError):
            return None

    def keep(self, current_sha256: str) -> Path | None:
        """Keep a copy of the file as it is now, unless it is sheetsync's own last write.
        Returns the newest kept version people left."""
        if current_sha256 == self.last_write() and self.newest() is not None:
            return self.newest()
        self.folder.mkdir(exist_ok=True)
        stamp = datetime.fromtimestamp(self.path.stat().st_mtime).strftime("%Y-%m-%d %H%M%S")
        target = self.folder / f"{self.path.stem} {stamp}{self.path.suffix}"
        n = 2
        while target.exists():
            target = self.folder / f"{self.path.stem} {stamp} ({n}){self.path.suffix}"
            n += 1
        partial = self.folder / (target.name + ".tmp")
        try:
            shutil.copyfile(self.path, partial)  # its time is when it was kept; its name, when it was saved
            os.replace(partial, target)
        except OSError:
            _remove_quietly(partial)  # no half-copied backup left behind (a full disk...)
            try:
                self.folder.rmdir()  # nor an empty folder this write made
            except OSError:
                pass
            raise
        self.prune()
        return target

    def written(self, sha256: str) -> None:
        """Remember the hash of what sheetsync just wrote (the next write keeps no copy of it).
        Only beside a history: a workbook sheetsync just created has none yet."""
        if not self.folder.is_dir():
            return
        try:
            marker = self.folder / LAST_WRITE
            partial = self.folder / (LAST_WRITE + ".tmp")
            partial.write_text(sha256 + "\n", encoding="ascii")
            os.replace(partial, marker)
        except OSError as exc:  # the workbook is saved; at worst the next write keeps one copy too many
            log.warning("cannot record the last write in %s: %s", self.folder, exc)

    def prune(self, now: float | None = None) -> None:
        """Remove copies older than KEEP_DAYS days (never the newest) and beyond KEEP_MAX."""
        copies = self.copies()
        limit = (now if now is not None else time.time()) - KEEP_DAYS * 86400
        for i, path in enumerate(copies[:-1]):
            too_many = len(copies) - i > KEEP_MAX
            try:
                if too_many or path.stat().st_mtime < limit:
                    path.unlink()
            except OSError as exc:
                log.debug("cannot remove old backup %s: %s", path, exc)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("cannot remove %s: %s", path, exc)
