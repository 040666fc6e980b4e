"""The small interface every backend implements. Jobs and the core never see anything else.

A backend does three things: read the whole workbook once (``read``), apply a change set in
one batch (``apply``), and lay out empty tabs from the templates (``init_layout``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..core.model import ApplyResult, ChangeSet, ColumnLayout, Snapshot, TabLayout


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)  # tab titles created
    kept: list[str] = field(default_factory=list)  # tab titles that existed and were left alone


@runtime_checkable
class Backend(Protocol):
    name: str  # "xlsx" or "google"

    def describe(self) -> str:
        """Where the workbook is, for messages: 'demo.xlsx' / 'Google 表格 <title>'."""

    def read(self) -> Snapshot:
        """Read every tab once: values, fills, notes, merged ranges, hidden flags."""

    def apply(self, changes: ChangeSet, snapshot: Snapshot) -> ApplyResult:
        """Apply ``changes`` computed from ``snapshot`` in one batch. Must not write anything
        when ``changes.is_empty()``. Must refuse (WorkbookBusyError) or re-aim by row key when
        the workbook changed since ``snapshot`` was read; must never overwrite a value a person
        typed, nor a fill or note that sheetsync did not put there."""

    def init_layout(self, tabs: list[TabLayout]) -> InitResult:
        """Create the tabs that are missing, with headers, dropdowns, frozen header row, column
        widths; mark job-owned tabs. Tabs that already exist are left untouched."""
