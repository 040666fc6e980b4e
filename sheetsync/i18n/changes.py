"""What a change set would do, in words (``--dry-run`` and logs)."""

from __future__ import annotations

from ..core.model import ChangeSet, column_letter
from .catalogue import Catalogue


def describe_changes(changes: ChangeSet, cat: Catalogue) -> list[str]:
    """One line per change, in the catalogue's language."""
    q = cat.quote
    lines: list[str] = []
    for p in changes.paints:
        first = p.note.splitlines()[0] if p.note else ""
        lines.append(cat.text("changes.paint", tab=q(p.tab), cell=f"{column_letter(p.col)}{p.row}", note=first))
    for u in changes.unpaints:
        lines.append(cat.text("changes.unpaint", tab=q(u.tab), cell=f"{column_letter(u.col)}{u.row}"))
    for f in changes.fills:
        lines.append(cat.text("changes.fill", tab=q(f.tab), cell=f"{column_letter(f.col)}{f.row}", value=f.value))
    for t in changes.tabs:
        lines.append(cat.text("changes.replace", tab=q(t.tab), rows=max(len(t.rows) - 1, 0)))
    for a in changes.appends:
        lines.append(cat.text("changes.append", tab=q(a.tab), rows=len(a.rows)))
    return lines
