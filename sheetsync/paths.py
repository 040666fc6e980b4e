"""Where the shipped data lives: ``sheet_templates/`` and ``jobs/``.

In the source tree they sit beside the package; in an installed wheel they are shipped inside it
(``sheetsync/sheet_templates``, ``sheetsync/jobs``). Both layouts are looked up here, so the
rest of the code never cares which one it runs from.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"sheetsync is installed without its '{name}' folder; reinstall it with `pip install .`")


def templates_dir() -> Path:
    return _find("sheet_templates")


def jobs_dir() -> Path:
    return _find("jobs")
