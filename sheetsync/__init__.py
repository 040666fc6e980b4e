"""sheetsync: keeps a small online shop's shared spreadsheet honest.

Library entry points (the CLI in ``sheetsync.cli`` only parses arguments and calls these):

    from sheetsync import load_template, run, check
    from sheetsync.backends.xlsx import XlsxBackend
    from sheetsync.registry import get_jobs

    report = run(XlsxBackend("shop.xlsx"), get_jobs(None), now=datetime.now(timezone.utc))
"""

from .engine import RunReport, check, run
from .errors import SheetsyncError
from .core.model import ChangeSet, Finding, Snapshot
from .templates import load_template

__version__ = "0.1.0"

__all__ = ["ChangeSet", "Finding", "RunReport", "SheetsyncError", "Snapshot", "check", "load_template", "run",
           "__version__"]
