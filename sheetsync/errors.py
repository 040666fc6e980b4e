"""Every error sheetsync raises on purpose.

Each message names the offending thing (tab, column, file, setting) and says what to do about
it, in words a shop assistant can act on. The CLI prints ``str(error)`` and exits non-zero; it
never prints a traceback for a ``SheetsyncError``.
"""

from __future__ import annotations


class SheetsyncError(Exception):
    """Base class. ``str(err)`` is the user-facing message."""

    exit_code = 2


class TemplateError(SheetsyncError):
    """A file in sheet_templates/ is malformed (unknown type, rule naming a missing column...)."""


class ConfigError(SheetsyncError):
    """sheetsync.toml or a command-line option is wrong."""


class HeaderError(SheetsyncError):
    """A tab is missing, or a required column is missing from a tab's header row."""


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
