"""Every error sheetsync raises on purpose.

An error carries a message key and parameters, never prose: ``ConfigError("config.unknown_key",
key="smpt", path="sheetsync.toml", line=12)``. It is rendered at the edge, in the language of the
template in use (``sheet_templates/<language>/messages/*.toml``). Each message names the
offending thing (tab, column, file, setting) and says what to do about it. The CLI prints
``str(error)`` and exits with ``exit_code``; it never prints a traceback for a ``SheetsyncError``.
"""

from __future__ import annotations

from typing import Any


class SheetsyncError(Exception):
    """Base class. ``str(err)`` is the user-facing message in the edge's language."""

    exit_code = 2

    def __init__(self, key: str, /, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def render(self, catalogue: Any = None) -> str:
        from .i18n import active

        cat = catalogue or active()
        if not cat.has(self.key):  # a literal message (third-party text passed through)
            return self.key
        return cat.text(self.key, **{k: (v.render(cat) if isinstance(v, SheetsyncError) else v)
                                     for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.render()


class TemplateError(SheetsyncError):
    """A file in sheet_templates/ is malformed (unknown type, rule naming a missing column...)."""


class ConfigError(SheetsyncError):
    """sheetsync.toml or a command-line option is wrong."""


class WorkbookBusyError(SheetsyncError):
    """The workbook is open in Excel/WPS/LibreOffice, or changed on disk since it was read."""

    exit_code = 3


class UnsafeWorkbookError(SheetsyncError):
    """Writing would destroy parts of the workbook the writer cannot keep (charts, images...)."""

    exit_code = 3


class BackendError(SheetsyncError):
    """The backend (file system, Google Sheets API) failed; the workbook was left as it was."""

    exit_code = 4


class DeliveryError(SheetsyncError):
    """A message (e-mail, group bot) could not be delivered; it stays in the outbox."""

    exit_code = 5
