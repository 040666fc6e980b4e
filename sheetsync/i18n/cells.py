"""Words inside job-owned tabs: a cell the core left as a Phrase or a Duration (客服绩效's result,
reason and first-response times) is worded in the template's language before the tab is planned."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..core.model import Duration, Phrase, ReplaceTab
from .catalogue import Catalogue
from .findings import render


def cell_text(value: Any, cat: Catalogue) -> Any:
    if isinstance(value, Phrase):
        return render(cat, cat.raw(value.key), value.params)
    if isinstance(value, Duration):
        return cat.duration(value)
    return value


def worded_tab(tab: ReplaceTab, cat: Catalogue) -> ReplaceTab:
    if not any(isinstance(v, (Phrase, Duration)) for row in tab.rows for v in row):
        return tab
    return replace(tab, rows=tuple(tuple(cell_text(v, cat) for v in row) for row in tab.rows))
