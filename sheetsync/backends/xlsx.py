"""The ``xlsx`` backend: a workbook file on a laptop or a shared drive, read and written with openpyxl.

One run reads the file once (its bytes are hashed and parsed from memory, so the fingerprint
matches exactly what was parsed) and, if there is anything to change, writes it once: to a
temporary file next to it, then swapped in atomically, keeping the previous version as
``<name>.bak``. It refuses to write while the file is open in Excel/WPS/LibreOffice, when
someone saved it after it was read, or when saving would delete things openpyxl cannot keep
(pictures, shapes, pivot tables...), or when the file is marked read-only.

Every message it raises or hands back is a key of ``messages/backends.toml`` with parameters,
rendered at the edge in the template's language.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import io
import logging
import os
import shutil
import stat
import uuid
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterator

from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from ..errors import BackendError, UnsafeWorkbookError, WorkbookBusyError
from ..core.model import ApplyResult, CellError, ChangeSet, Snapshot, TabData
from .base import InitResult, Listing, Reason, TabLayout
from .xlsx_formulas import FormulaValues, keep_cached_values, read_cached_values
from .xlsx_parts import Part, keep_blockers, scan_parts
from .xlsx_read import PackageError, read_tabs
from .xlsx_write import add_layout_tab, apply_changes, chart_tabs, fill_key, fit_note, is_own_note

log = logging.getLogger(__name__)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls files and password-protected workbooks
_ZIP_MAGIC = b"PK\x03\x04"  # every .xlsx is a zip package: a file starting so was one once
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """The file as read: a save by anyone else changes at least one of these."""

    size: int
    mtime_ns: int
    sha256: str

    @property
    def text(self) -> str:
        return f"{self.size}:{self.mtime_ns}:{self.sha256}"

    def same_content(self, version: str | None) -> bool:
        """Whether ``version`` (a Snapshot.version) describes the same bytes."""
        return version is not None and version.rsplit(":", 1)[-1] == self.sha256


@dataclass
class _Loaded:
    """The parsed workbook kept between read() and apply(), so apply does not parse again."""

    wb: Workbook
    fingerprint: Fingerprint
    parts: list[Part]
    # the values Excel computed for formula cells, written back on save (openpyxl drops them)
    formula_values: FormulaValues
    # versions this workbook object stands for: the one read, then each one this backend wrote
    lineage: set[str] = field(default_factory=set)


def lock_files(path: Path) -> list[Path]:
    """Lock files that Excel/WPS (``~$name``), LibreOffice (``.~lock.name#``) and WPS
    (``.~name``) leave next to a workbook while it is open."""
    candidates = (f"~${path.name}", f".~lock.{path.name}#", f".~{path.name}")
    return [path.with_name(name) for name in candidates if path.with_name(name).exists()]


@contextmanager
def gc_paused() -> Iterator[None]:
    """openpyxl creates and serialises millions of small objects per workbook; Python's cyclic
    garbage collector then keeps rescanning them (about a fifth of a large load or save) without
    finding anything to free. Pause it for that span only."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class XlsxBackend:
    name = "xlsx"

    def __init__(self, path: str | os.PathLike, *, backup: bool = True):
        self.path = Path(path)
        self.backup = backup
        self._loaded: _Loaded | None = None
        self._read_data: tuple[bytes, Fingerprint] | None = None  # the bytes the last read parsed

    def describe(self) -> str:
        return self.path.name

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    # -- read -----------------------------------------------------------------------------------

    def read(self) -> Snapshot:
        """Every tab: values by calamine, fills, notes and merged ranges from the package XML
        (no workbook object is built; see ``xlsx_read``)."""
        data, fingerprint = self._read_bytes()
        self._check_package(data)
        try:
            tabs = read_tabs(data)
        except PackageError as exc:
            log.debug("%s: %s", self.path.name, exc)
            cause = exc.__cause__
            raise self._unreadable(data, cause if isinstance(cause, Exception) else exc) from None
        self._read_data = (data, fingerprint)
        return Snapshot(tabs=tabs, source=self.path.name, version=fingerprint.text)

    def version(self) -> str:
        """The content hash of the file (sha256 of its bytes), without parsing anything: the
        same text whatever its modification time, different after any save that changed it."""
        data, _fingerprint = self._read_bytes()
        return hashlib.sha256(data).hexdigest()

    def _check_package(self, data: bytes) -> None:
        name = self.path.name
        if not data:
            raise BackendError("backends.xlsx.empty", name=name, path=str(self.path),
                               backup=self._backup_hint(repairable=False))
        if data.startswith(_OLE_MAGIC):
            raise BackendError("backends.xlsx.old_format", name=name)

    def _read_bytes(self) -> tuple[bytes, Fingerprint]:
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                data = fh.read()
        except FileNotFoundError:
            raise BackendError("backends.xlsx.not_found", path=str(self.path)) from None
        except IsADirectoryError:
            raise BackendError("backends.xlsx.is_folder", path=str(self.path)) from None
        except OSError as exc:
            raise BackendError("backends.xlsx.cannot_read", path=str(self.path),
                               reason=exc.strerror or str(exc)) from None
        return data, Fingerprint(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())

    def _load(self, data: bytes, fingerprint: Fingerprint) -> tuple[_Loaded, dict[str, TabData]]:
        """Parse with openpyxl (full mode: fills, notes and a workbook we can save back; rich
        text kept so a person's formatted text survives the save), note unkeepable parts and
        read the tabs, formula cells by their cached values (kept for the next save)."""
        name = self.path.name
        if not data:
            raise BackendError("backends.xlsx.empty", name=name, path=str(self.path),
                               backup=self._backup_hint(repairable=False))
        if data.startswith(_OLE_MAGIC):
            raise BackendError("backends.xlsx.old_format", name=name)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with gc_paused():
                    wb = load_workbook(io.BytesIO(data), rich_text=True)
            parts = scan_parts(data)
        except Exception as exc:  # openpyxl raises many kinds of errors on a damaged package
            log.debug("%s: %s", name, exc)
            raise self._unreadable(data, exc) from None
        for warning in caught:
            log.info("%s: %s", name, warning.message)
        tabs, formula_values = _tabs(wb, data)
        return _Loaded(wb, fingerprint, parts, formula_values, {fingerprint.text}), tabs

    def _unreadable(self, data: bytes, exc: Exception) -> BackendError:
        """Say what the file really is: a zip cut off before its end (an interrupted copy or
        sync), a zip holding no workbook (a renamed .docx or .zip), a damaged workbook, or no
        zip at all (a renamed .csv or .xls)."""
        name = self.path.name
        if data.startswith(_ZIP_MAGIC):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    members = zf.namelist()
            except (zipfile.BadZipFile, EOFError, ValueError):  # the directory of its parts is missing
                return BackendError("backends.xlsx.cut_off", name=name, size=len(data), backup=self._backup_hint())
            if not any(m.lower().endswith("workbook.xml") for m in members):
                return BackendError("backends.xlsx.zip_not_workbook", name=name)
            return BackendError("backends.xlsx.damaged", name=name, error=str(exc), backup=self._backup_hint())
        if isinstance(exc, (zipfile.BadZipFile, InvalidFileException, KeyError)):
            return BackendError("backends.xlsx.not_xlsx", name=name)
        return BackendError("backends.xlsx.damaged", name=name, error=str(exc), backup=self._backup_hint())

    def _backup_hint(self, repairable: bool = True) -> Reason:
        """What to do about a workbook that cannot be read: restore the backup when there is a
        usable one (named), otherwise copy the file again (or repair it, when there is
        something to repair)."""
        try:
            usable = self.backup_path.is_file() and self.backup_path.stat().st_size > 0
        except OSError:
            usable = False
        if usable:
            return Reason("backends.xlsx.hint_backup", backup=str(self.backup_path), name=self.path.name)
        return Reason("backends.xlsx.hint_no_backup" if repairable else "backends.xlsx.hint_copy_again",
                      name=self.path.name)

    # -- apply ----------------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, snapshot: Snapshot) -> ApplyResult:
        """Apply the change set to the workbook read for ``snapshot`` and save once. Nothing
        at all is written for an empty change set, nor when every operation was skipped."""
        if changes.is_empty():
            return ApplyResult(written=0)
        self._refuse_if_open()
        self._refuse_if_read_only()
        loaded = self._loaded_for(snapshot)
        self._refuse_if_changed(loaded.fingerprint)
        allowed = {tab.tab for tab in changes.tabs} | chart_tabs(loaded.wb)
        self._refuse_unkeepable(loaded.parts, allowed)
        self._loaded = None  # until saved, the workbook object no longer matches the file
        try:
            written, skipped = apply_changes(loaded.wb, changes)
        except Exception as exc:  # an openpyxl refusal (a value it cannot store...): nothing saved
            raise BackendError("backends.xlsx.change_failed", name=self.path.name, error=str(exc)) from None
        for tab in changes.tabs:  # a rewritten tab starts afresh: its old formulas are gone
            loaded.formula_values.pop(tab.tab, None)
        if not written:  # every operation was skipped, and a skipped one changes nothing
            self._loaded = loaded
            return ApplyResult(written=0, skipped=skipped)
        backup = self._save_loaded(loaded)
        log.info("%s: wrote %d change(s), skipped %d", self.path.name, written, len(skipped))
        return ApplyResult(written=written, skipped=skipped, backup=str(backup) if backup else None)

    def _loaded_for(self, snapshot: Snapshot) -> _Loaded:
        """The parsed workbook ``snapshot`` came from (cached by read), or a fresh parse of the
        file when this backend has none (the file must still be the one the snapshot shows)."""
        if self._loaded is not None and snapshot.version in self._loaded.lineage:
            return self._loaded
        if self._read_data is not None and self._read_data[1].text == snapshot.version:
            data, fingerprint = self._read_data
            self._read_data = None
            self._loaded, _ = self._load(data, fingerprint)
            return self._loaded
        data, fingerprint = self._read_bytes()
        if not fingerprint.same_content(snapshot.version):
            raise self._changed_error()
        self._loaded, _ = self._load(data, fingerprint)
        return self._loaded

    def _refuse_if_open(self) -> None:
        locks = lock_files(self.path)
        if locks:
            raise WorkbookBusyError("backends.xlsx.open_elsewhere", name=self.path.name, lock=locks[0].name,
                                    lock_path=str(locks[0]))

    def _refuse_if_read_only(self) -> None:
        """A workbook marked read-only (file properties, chmod a-w) or one this user may not
        write is left alone: the atomic save would replace it anyway (a rename needs only the
        folder to be writable), and silently so. The mode bits are checked as well as
        os.access, which says yes to every file for root and for Windows administrators."""
        try:
            mode = os.stat(self.path).st_mode
        except OSError:  # gone or unreachable: the next check says so
            return
        if mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) and os.access(self.path, os.W_OK):
            return
        if _on_read_only_disk(self.path):
            raise BackendError("backends.xlsx.read_only_disk", name=self.path.name, path=str(self.path),
                               folder=str(self.path.parent.resolve()))
        raise BackendError("backends.xlsx.read_only_file", name=self.path.name, path=str(self.path))

    def _refuse_if_changed(self, expected: Fingerprint) -> None:
        """Compare the file with what was read, by content: modification times are too coarse
        on shared drives (two seconds on FAT, a few milliseconds elsewhere) to prove that
        nobody saved, and a copy or touch that kept the bytes is no conflict."""
        try:
            if os.stat(self.path).st_size == expected.size:
                with open(self.path, "rb") as fh:
                    if hashlib.sha256(fh.read()).hexdigest() == expected.sha256:
                        return
        except FileNotFoundError:
            raise WorkbookBusyError("backends.xlsx.moved", name=self.path.name) from None
        except OSError as exc:
            raise BackendError("backends.xlsx.cannot_check", path=str(self.path),
                               reason=exc.strerror or str(exc)) from None
        raise self._changed_error()

    def _changed_error(self) -> WorkbookBusyError:
        return WorkbookBusyError("backends.xlsx.changed", name=self.path.name)

    def _refuse_unkeepable(self, parts: list[Part], allowed_sheets: set[str]) -> None:
        blockers = keep_blockers(parts, allowed_sheets)
        if blockers:
            raise UnsafeWorkbookError("backends.xlsx.unkeepable", name=self.path.name, parts=Listing(blockers))

    # -- save -----------------------------------------------------------------------------------

    def _save_loaded(self, loaded: _Loaded) -> Path | None:
        """Save a workbook that was read from the file and keep it cached as the new version."""
        data, fingerprint, backup = self._save(loaded.wb, loaded.fingerprint, loaded.formula_values)
        loaded.fingerprint = fingerprint
        loaded.lineage.add(fingerprint.text)
        loaded.parts = scan_parts(data)
        self._loaded = loaded
        return backup

    def _save(
        self, wb: Workbook, expected: Fingerprint | None, formula_values: FormulaValues | None = None
    ) -> tuple[bytes, Fingerprint, Path | None]:
        """Save atomically: write a temporary file in the same folder and fsync it, check once
        more that nobody saved meanwhile (``expected`` None: that nobody created the file), keep
        the previous file as ``.bak``, then swap the new file in with one rename. The original
        stays untouched on any failure. Returns the bytes written, their fingerprint and the
        backup path (None when there was no previous file or backups are off)."""
        data = self._package(wb, formula_values or {})
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            self._write_durably(tmp, data)
            if expected is not None:
                self._refuse_if_changed(expected)
            elif self.path.exists():
                raise WorkbookBusyError("backends.xlsx.created_meanwhile", name=self.path.name)
            keep = expected is not None and expected.size > 0 and self.backup  # no backup of an empty file
            backup = self._keep_backup() if keep else None
            os.replace(tmp, self.path)
        except OSError as exc:
            raise self._save_error(exc) from None
        finally:
            _remove_quietly(tmp)  # never let a failed clean-up hide why the save failed
        _fsync_folder(self.path.parent)
        st = os.stat(self.path)
        return data, Fingerprint(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest()), backup

    def _save_error(self, exc: OSError) -> BackendError:
        """Why the file could not be saved, in terms of what to do about it."""
        where = dict(name=self.path.name, path=str(self.path), folder=str(self.path.parent.resolve()))
        if exc.errno == errno.EROFS:
            return BackendError("backends.xlsx.read_only_disk", **where)
        if exc.errno in (errno.EACCES, errno.EPERM):
            return BackendError("backends.xlsx.folder_not_writable", **where)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return BackendError("backends.xlsx.disk_full", **where)
        return BackendError("backends.xlsx.save_failed", reason=exc.strerror or str(exc), **where)

    def _package(self, wb: Workbook, formula_values: FormulaValues) -> bytes:
        """The .xlsx bytes of ``wb``, formula cells holding their cached values. A workbook
        with formulas is also marked to be recomputed when Excel/WPS/LibreOffice open it, so
        nobody looks at a value computed before the save. When values must be put back,
        openpyxl writes an uncompressed package that is compressed once, while packing it again."""
        if formula_values:
            wb.calculation.fullCalcOnLoad = True
        put_back = any(formula_values.values())
        buffer = io.BytesIO()
        compression = zipfile.ZIP_STORED if put_back else zipfile.ZIP_DEFLATED
        archive = zipfile.ZipFile(buffer, "w", compression, allowZip64=True)
        try:
            with gc_paused():
                ExcelWriter(wb, archive).save()  # what wb.save does, minus stamping the wall-clock time
        except Exception as exc:  # openpyxl validates on save (a bad value, a bad name...)
            raise BackendError("backends.xlsx.package_failed", name=self.path.name, error=str(exc)) from None
        finally:
            archive.close()  # also after a failure, so no half-written archive lingers
        return keep_cached_values(buffer.getvalue(), formula_values, wb.epoch) if put_back else buffer.getvalue()

    def _write_durably(self, tmp: Path, data: bytes) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if self.path.exists():  # keep the workbook's permissions (a shared drive's group access)
            os.chmod(tmp, stat.S_IMODE(os.stat(self.path).st_mode))

    def _keep_backup(self) -> Path:
        partial = self.backup_path.with_name(self.backup_path.name + ".tmp")
        try:
            shutil.copy2(self.path, partial)
            os.replace(partial, self.backup_path)
        finally:
            _remove_quietly(partial)  # no half-copied backup left behind (a full disk...)
        return self.backup_path

    # -- init -----------------------------------------------------------------------------------

    def init_layout(self, tabs: list[TabLayout]) -> InitResult:
        """Create the file or add the tabs it lacks (titles compared exactly). Existing tabs are
        never touched; nothing is written when no tab is missing."""
        if not self.path.exists():
            return self._create(tabs, None)
        data, fingerprint = self._read_bytes()
        if not data:  # a 0-byte file (touched, or an empty placeholder): a new, empty workbook
            return self._create(tabs, fingerprint)
        loaded, _ = self._load(data, fingerprint)
        result = InitResult(
            created=[t.title for t in tabs if t.title not in loaded.wb.sheetnames],
            kept=[t.title for t in tabs if t.title in loaded.wb.sheetnames],
        )
        if not result.created:
            return result
        self._refuse_if_open()
        self._refuse_if_read_only()
        self._refuse_unkeepable(loaded.parts, chart_tabs(loaded.wb))
        self._loaded = None  # the cached workbook (if any) is about to be outdated
        for layout in tabs:
            if layout.title in result.created:
                add_layout_tab(loaded.wb, layout)
        self._save_loaded(loaded)
        return result

    def _create(self, tabs: list[TabLayout], empty: Fingerprint | None) -> InitResult:
        """A new workbook with ``tabs``, where there is no file (``empty`` None) or an empty one
        (its fingerprint: it must still be empty when the new one replaces it)."""
        if not tabs:
            return InitResult()
        if empty is not None:
            self._refuse_if_open()
            self._refuse_if_read_only()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._save_error(exc) from None
        wb = Workbook()
        wb.remove(wb.active)
        for layout in tabs:
            add_layout_tab(wb, layout)
        self._save(wb, empty)
        return InitResult(created=[t.title for t in tabs])


def _on_read_only_disk(path: Path) -> bool:
    """Whether ``path`` is on a file system mounted read-only (POSIX; False where unknown)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # Windows has no statvfs
        return False


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # a read-only disk refuses even to remove what is not there
        log.debug("cannot remove %s: %s", path, exc)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles to sync."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:  # some network file systems refuse; the file itself is already synced
        log.debug("cannot fsync folder %s: %s", folder, exc)


# ---------------------------------------------------------------------------------------------
# Workbook -> TabData


def _tabs(wb: Workbook, data: bytes) -> tuple[dict[str, TabData], FormulaValues]:
    """Every tab, and the cached values of its formula cells (read with calamine from
    ``data``, only for the tabs that have formulas)."""
    fill_keys: dict[int, str | None] = {}
    tabs: dict[str, TabData] = {}
    formulas: dict[str, list[tuple[int, int]]] = {}
    for ws in wb.worksheets:
        tabs[ws.title], cells = _tab(ws, fill_keys)
        if cells:
            formulas[ws.title] = cells
    values = read_cached_values(data, formulas) if formulas else {}
    for title, cells in formulas.items():
        _put_computed_values(tabs[title].rows, cells, values[title])
    return tabs, values


def _tab(ws: Worksheet, fill_keys: dict[int, str | None]) -> tuple[TabData, list[tuple[int, int]]]:
    """One pass over the cells openpyxl holds (``ws._cells``: only cells present in the file,
    far cheaper than iter_rows, which creates every empty cell of the used rectangle).
    Returns the tab and its formula cells."""
    values: dict[tuple[int, int], Any] = {}
    fills: dict[tuple[int, int], str] = {}
    notes: dict[tuple[int, int], str] = {}
    formulas: list[tuple[int, int]] = []
    all_fills = ws.parent._fills
    for coord, cell in ws._cells.items():
        value = cell._value
        if value is not None:
            kind = cell.data_type
            if kind == "s":
                if type(value) is CellRichText:
                    value = str(value)
                if value:
                    values[coord] = value
            elif kind == "e":  # an error typed or pasted as a value (#N/A)
                values[coord] = CellError(str(value))
            else:
                values[coord] = value
                if kind == "f":
                    formulas.append(coord)
        style = cell._style  # StyleArray, or None for a cell that never had a style
        fill_id = style[1] if style is not None else 0  # StyleArray.fillId; 0 is "no fill"
        if fill_id:
            if fill_id not in fill_keys:
                fill_keys[fill_id] = fill_key(all_fills[fill_id])
            key = fill_keys[fill_id]
            if key:
                fills[coord] = key
        comment = cell._comment
        if comment is not None:
            if comment.content:
                notes[coord] = comment.content
            if is_own_note(comment):
                fit_note(comment)  # openpyxl forgets box sizes on load; the next save keeps ours readable
    n_rows = max(values)[0] if values else 0
    n_cols = max(map(itemgetter(1), values)) if values else 0
    rows: list[list[Any]] = [[None] * n_cols for _ in range(n_rows)]
    for (r, c), value in values.items():
        rows[r - 1][c - 1] = value
    merged = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges]
    tab = TabData(ws.title, rows, fills, notes, merged, hidden=ws.sheet_state != "visible")
    return tab, formulas


def _put_computed_values(rows: list[list[Any]], cells: list[tuple[int, int]],
                         values: dict[tuple[int, int], Any]) -> None:
    """Replace formula text with the value Excel last computed (cached in the file; an error
    such as #DIV/0! as a CellError). No cached value (a file never opened in Excel since the
    formula was typed) reads as empty."""
    for r, c in cells:
        rows[r - 1][c - 1] = _computed(values[(r, c)]) if (r, c) in values else None


def _computed(value: Any) -> Any:
    """Calamine's value in openpyxl's terms: whole floats are ints, dates are datetimes
    (openpyxl reads date-formatted cells as datetime)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value
