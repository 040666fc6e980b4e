"""The ``xlsx`` backend: a workbook file on a laptop or a shared drive, read and written with openpyxl.

One run reads the file once (its bytes are hashed and parsed from memory, so the fingerprint
matches exactly what was parsed) and, if there is anything to change, writes it once: to a
temporary file next to it, then swapped in atomically, keeping the previous version as
``<name>.bak``. It refuses to write while the file is open in Excel/WPS/LibreOffice, when
someone saved it after it was read, or when saving would delete things openpyxl cannot keep
(pictures, shapes, pivot tables...).
"""

from __future__ import annotations

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
from ..core.model import ApplyResult, ChangeSet, Snapshot, TabData
from .base import InitResult, TabLayout
from .xlsx_formulas import FormulaValues, keep_cached_values, read_cached_values
from .xlsx_parts import Part, keep_blockers, scan_parts
from .xlsx_write import add_layout_tab, apply_changes, chart_tabs, fill_key, fit_note, is_own_note

log = logging.getLogger(__name__)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls files and password-protected workbooks


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

    def describe(self) -> str:
        return self.path.name

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    # -- read -----------------------------------------------------------------------------------

    def read(self) -> Snapshot:
        data, fingerprint = self._read_bytes()
        loaded, tabs = self._load(data, fingerprint)
        self._loaded = loaded
        return Snapshot(tabs=tabs, source=self.path.name, version=fingerprint.text)

    def _read_bytes(self) -> tuple[bytes, Fingerprint]:
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                data = fh.read()
        except FileNotFoundError:
            raise BackendError(
                f"找不到工作簿文件 {self.path}。新建一个空的: sheetsync init --workbook {self.path} ; "
                f"或者先用演示数据试试: sheetsync demo"
            ) from None
        except IsADirectoryError:
            raise BackendError(f"{self.path} 是一个文件夹, 不是 .xlsx 工作簿。请指定 .xlsx 文件的路径。") from None
        except OSError as exc:
            raise BackendError(f"无法读取工作簿 {self.path}: {exc.strerror or exc}。请检查文件权限和共享盘是否连接。") from None
        return data, Fingerprint(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())

    def _load(self, data: bytes, fingerprint: Fingerprint) -> tuple[_Loaded, dict[str, TabData]]:
        """Parse with openpyxl (full mode: fills, notes and a workbook we can save back; rich
        text kept so a person's formatted text survives the save), note unkeepable parts and
        read the tabs, formula cells by their cached values (kept for the next save)."""
        name = self.path.name
        if data.startswith(_OLE_MAGIC):
            raise BackendError(
                f"{name} 不是 .xlsx 工作簿 (可能是旧的 .xls 格式, 或者设置了打开密码)。"
                f"请在 Excel/WPS 里「另存为」.xlsx 格式 (不设密码) 后再运行。"
            )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with gc_paused():
                    wb = load_workbook(io.BytesIO(data), rich_text=True)
            parts = scan_parts(data)
        except (zipfile.BadZipFile, InvalidFileException, KeyError):
            raise BackendError(
                f"{name} 不是 .xlsx 工作簿 (也许是 .xls 或 .csv 改了扩展名)。请在 Excel/WPS 里「另存为」.xlsx 格式后再运行。"
            ) from None
        except Exception as exc:  # openpyxl raises many kinds of errors on a damaged package
            raise BackendError(f"{name} 已损坏, 读不出来 ({exc})。请在 Excel/WPS 里打开并另存一次, 或者用 {name}.bak 备份。") from None
        for warning in caught:
            log.info("%s: %s", name, warning.message)
        tabs, formula_values = _tabs(wb, data)
        return _Loaded(wb, fingerprint, parts, formula_values, {fingerprint.text}), tabs

    # -- apply ----------------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, snapshot: Snapshot) -> ApplyResult:
        """Apply the change set to the workbook read for ``snapshot`` and save once. Nothing
        at all is written for an empty change set, nor when every operation was skipped."""
        if changes.is_empty():
            return ApplyResult(written=0)
        self._refuse_if_open()
        loaded = self._loaded_for(snapshot)
        self._refuse_if_changed(loaded.fingerprint)
        allowed = {tab.tab for tab in changes.tabs} | chart_tabs(loaded.wb)
        self._refuse_unkeepable(loaded.parts, allowed)
        self._loaded = None  # until saved, the workbook object no longer matches the file
        try:
            written, skipped = apply_changes(loaded.wb, changes)
        except Exception as exc:  # an openpyxl refusal (a value it cannot store...): nothing saved
            raise BackendError(f"写入 {self.path.name} 时出错 ({exc}), 文件没有改动。") from None
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
        data, fingerprint = self._read_bytes()
        if not fingerprint.same_content(snapshot.version):
            raise self._changed_error()
        self._loaded, _ = self._load(data, fingerprint)
        return self._loaded

    def _refuse_if_open(self) -> None:
        locks = lock_files(self.path)
        if locks:
            raise WorkbookBusyError(
                f"「{self.path.name}」正在被打开 (发现锁文件 {locks[0].name}), 这次什么都没有写入。"
                f"请先在 Excel/WPS/LibreOffice 里关闭这个文件, 再运行。"
                f"如果确定没有人打开它, 删除锁文件 {locks[0]} 即可。"
            )

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
            raise WorkbookBusyError(
                f"「{self.path.name}」在读取之后被移走或删除了, 这次什么都没有写入。请确认文件位置后再运行。"
            ) from None
        except OSError as exc:
            raise BackendError(f"无法检查工作簿 {self.path}: {exc.strerror or exc}。请检查共享盘是否连接。") from None
        raise self._changed_error()

    def _changed_error(self) -> WorkbookBusyError:
        return WorkbookBusyError(
            f"「{self.path.name}」在 sheetsync 读取之后被别人保存过, 为了不覆盖别人的修改, 这次什么都没有写入。请再运行一次。"
        )

    def _refuse_unkeepable(self, parts: list[Part], allowed_sheets: set[str]) -> None:
        blockers = keep_blockers(parts, allowed_sheets)
        if blockers:
            raise UnsafeWorkbookError(
                f"「{self.path.name}」里有 sheetsync 保存时保不住的内容: {'; '.join(blockers)}。"
                f"现在保存会把它们删掉或弄乱, 所以这次什么都没有写入。"
                f"请把它们移到另一个文件里; 或者让 sheetsync 处理一个只放数据的副本; 或者改用 Google 表格后端。"
            )

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
                raise WorkbookBusyError(f"「{self.path.name}」刚刚被别人创建了, 这次什么都没有写入。请再运行一次。")
            backup = self._keep_backup() if expected is not None and self.backup else None
            os.replace(tmp, self.path)
        except OSError as exc:
            raise BackendError(
                f"无法保存 {self.path} ({exc.strerror or exc}), 原文件没有改动。请检查文件夹权限和磁盘空间。"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_folder(self.path.parent)
        st = os.stat(self.path)
        return data, Fingerprint(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest()), backup

    def _package(self, wb: Workbook, formula_values: FormulaValues) -> bytes:
        """The .xlsx bytes of ``wb``, formula cells holding their cached values. A workbook
        with formulas is also marked to be recomputed when Excel/WPS/LibreOffice open it, so
        nobody looks at a value computed before the save. When values must be put back,
        openpyxl writes an uncompressed package that is compressed once, while packing it again."""
        if formula_values:
            wb.calculation.fullCalcOnLoad = True
        put_back = any(formula_values.values())
        buffer = io.BytesIO()
        archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED if put_back else zipfile.ZIP_DEFLATED, allowZip64=True)
        try:
            with gc_paused():
                ExcelWriter(wb, archive).save()  # what wb.save does, minus stamping the wall-clock time
        except Exception as exc:  # openpyxl validates on save (a bad value, a bad name...)
            raise BackendError(f"保存 {self.path.name} 失败 ({exc}), 文件没有改动。") from None
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
        shutil.copy2(self.path, partial)
        os.replace(partial, self.backup_path)
        return self.backup_path

    # -- init -----------------------------------------------------------------------------------

    def init_layout(self, tabs: list[TabLayout]) -> InitResult:
        """Create the file or add the tabs it lacks (titles compared exactly). Existing tabs are
        never touched; nothing is written when no tab is missing."""
        if not self.path.exists():
            return self._create(tabs)
        data, fingerprint = self._read_bytes()
        loaded, _ = self._load(data, fingerprint)
        result = InitResult(
            created=[t.title for t in tabs if t.title not in loaded.wb.sheetnames],
            kept=[t.title for t in tabs if t.title in loaded.wb.sheetnames],
        )
        if not result.created:
            return result
        self._refuse_if_open()
        self._refuse_unkeepable(loaded.parts, chart_tabs(loaded.wb))
        self._loaded = None  # the cached workbook (if any) is about to be outdated
        for layout in tabs:
            if layout.title in result.created:
                add_layout_tab(loaded.wb, layout)
        self._save_loaded(loaded)
        return result

    def _create(self, tabs: list[TabLayout]) -> InitResult:
        if not tabs:
            return InitResult()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        wb = Workbook()
        wb.remove(wb.active)
        for layout in tabs:
            add_layout_tab(wb, layout)
        self._save(wb, None)
        return InitResult(created=[t.title for t in tabs])


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
            else:
                values[coord] = value
                if kind == "f":
                    formulas.append(coord)
        style = cell._style  # StyleArray, or None for a cell that never had a style
        fill_id = style[1] if style is not None else 0  # StyleArray.fillId; 0 is "no fill"
        if fill_id:
            if fill_id not in fill_keys:
                fill_keys[fill_id] = fill_key(all_fills[fill_id])
            if fill_keys[fill_id]:
                fills[coord] = fill_keys[fill_id]
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


def _put_computed_values(rows: list[list[Any]], cells: list[tuple[int, int]], values: dict[tuple[int, int], Any]) -> None:
    """Replace formula text with the value Excel last computed (cached in the file). No cached
    value (a file never opened in Excel since the formula was typed) reads as empty."""
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
