"""A fake Google Sheets API v4 on loopback, for tests and benchmarks (see ``server``)."""

from .discovery import DiscoveryValidator, load_discovery
from .model import ApiError, CellError, FakeSheet, FakeSpreadsheet, Formula
from .server import DROP, LOST, Failure, FakeSheets, Recorded, start_fake_sheets

__all__ = ["ApiError", "CellError", "DROP", "DiscoveryValidator", "Failure", "FakeSheet", "FakeSheets", "LOST",
           "FakeSpreadsheet", "Formula", "Recorded", "load_discovery", "start_fake_sheets"]
