"""Backends: where the workbook lives. ``xlsx`` (a local file) and ``google`` (Google Sheets)."""

from .base import Backend, ColumnLayout, InitResult, TabLayout

__all__ = ["Backend", "ColumnLayout", "InitResult", "TabLayout"]
