"""Process locks: one flock per job (scheduler and ``sheetsync run`` alike) and one per outbox.

A lock goes away with its process, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import re
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Iterator

@contextmanager
def file_lock(path: Path, blocking: bool = False) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` for the ``with`` block. Yields False instead of
    waiting when another process (or another open of the file) holds it and ``blocking`` is
    False. The lock goes away with the process, so a crash never leaves a stale lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def job_lock(state_dir: Path, name: str) -> AbstractContextManager[bool]:
    """``with job_lock(dir, "weekly-summary") as got:`` — got is False while another process
    runs that job. Used by the scheduler and by ``sheetsync run`` alike."""
    safe = re.sub(r"[^\w.-]", "_", name)
    return file_lock(Path(state_dir) / "locks" / f"{safe}.lock")



__all__ = ["file_lock", "job_lock"]
