"""The small interface every backend implements. Jobs and the core never see anything else.

A backend does three things: read the whole workbook once (``read``), apply a change set in
one batch (``apply``), and lay out empty tabs from the templates (``init_layout``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..core.model import ApplyResult, ChangeSet, ColumnLayout, Snapshot, TabLayout
from ..errors import SheetsyncError

__all__ = ["ApplyResult", "Backend", "ChangeSet", "ColumnLayout", "InitResult", "Listing", "Reason", "Snapshot",
           "TabLayout"]


class Reason(SheetsyncError):
    """A keyed message a backend hands back instead of raising: why one operation of a change
    set was skipped (``ApplyResult.skipped``), or what a part it cannot keep is called. It is
    a SheetsyncError only so that it renders, and nests in an error's parameters, exactly like
    one; it is never raised. ``str(reason)`` renders in the edge's language; a parameter that
    is a list of Reasons renders as a list in the same catalogue."""

    def render(self, catalogue: Any = None) -> str:
        from ..i18n import active

        cat = catalogue or active()
        if not cat.has(self.key):  # third-party text passed through
            return self.key
        return cat.text(self.key, **{k: _rendered(v, cat) for k, v in self.params.items()})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reason) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash((self.key, tuple(sorted(self.params))))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Reason({self.key!r}{', ' if params else ''}{params})"


class Listing(Reason):
    """Several Reasons as one parameter of an error, each rendered in the error's catalogue and
    joined with ``backends.list_sep``."""

    def __init__(self, items: Any) -> None:
        super().__init__("backends.list_sep", items=tuple(items))

    def render(self, catalogue: Any = None) -> str:
        from ..i18n import active

        cat = catalogue or active()
        return cat.text("backends.list_sep").join(_rendered(v, cat) for v in self.params["items"])


def _rendered(value: Any, cat: Any) -> Any:
    if isinstance(value, SheetsyncError):
        return value.render(cat)
    if isinstance(value, (list, tuple)) and any(isinstance(v, SheetsyncError) for v in value):
        return cat.join(_rendered(v, cat) for v in value)
    return value


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)  # tab titles created
    kept: list[str] = field(default_factory=list)  # tab titles that existed and were left alone


@runtime_checkable
class Backend(Protocol):
    name: str  # "xlsx" or "google"

    def describe(self) -> str:
        """Where the workbook is, for messages, in the edge's language: 'demo.xlsx', or
        'Google Sheets <title>' (``backends.google.describe``)."""

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
