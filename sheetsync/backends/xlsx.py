"""The ``xlsx`` backend: a workbook file on a laptop or a shared drive.

One run reads the file once (its bytes are hashed and parsed from memory, so the fingerprint
matches exactly what was parsed): values with python-calamine, fills, notes and merged ranges
from the package XML (``xlsx_read``). If there is anything to change it writes once, by
patching only the parts it has to (``xlsx_patch``, ``xlsx_splice``) and copying every other
part of the package as it was stored, so pictures, charts, pivot tables, macros, threaded
comments and whatever else a person made survive. The new file is written next to the old one
and swapped in atomically; the version people left is kept in a backup history beside the
file (``xlsx_backups``). It refuses to write while the file is open in Excel/WPS/LibreOffice,
when someone saved it after it was read, or when the file is marked read-only.

Every message it raises or hands back is a key of ``messages/backends.toml`` with parameters,
rendered at the edge in the template's language.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import stat
import struct
import uuid
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from xml.etree import ElementTree as ET

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter
from python_calamine import CalamineWorkbook

from ..errors import BackendError, WorkbookBusyError
from ..core.model import ApplyResult, ChangeSet, Snapshot
from .base import InitResult, Reason, TabLayout
from .xlsx_backups import Backups
from . import xlsx_package as pkg
from .xlsx_patch import PatchError, apply_cell_ops
from .xlsx_patch import Workbook as Package
from .xlsx_read import Marks, PackageError, read_marks, read_tabs
from .xlsx_splice import add_tab, append_rows, replace_tab
from .xlsx_write import add_layout_tab
from .xlsx_zip import member_digests, surely_changed

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


@dataclass(frozen=True)
class SheetSources:
    """What reading each tab of one version of the file depended on, so that the next read can
    take a tab from the last one when none of it changed (``XlsxBackend.read_reusing``).

    ``sheets``: title -> (its part, its state, the digests of its part, of its relationships and
    of its comments parts). For the whole package: whether dates count from 1904, the signature
    of every cell style (``xlsx_package.style_signatures``) and the shared strings' items (their
    length and SHA-256): values are resolved through them, so a tab stays the same only while
    the styles and strings it may use keep their meaning: later ones may be added, none changed."""

    date1904: bool
    styles: tuple[tuple, ...]
    strings: tuple
    sheets: dict[str, tuple]
    members: dict[str, tuple[str, str]]  # xlsx_zip.member_digests: unchanged parts are not hashed again

    def unchanged(self, previous: "SheetSources") -> set[str]:
        """The titles whose tab reads exactly as it did in ``previous``."""
        if self.date1904 != previous.date1904 or self.styles[:len(previous.styles)] != previous.styles:
            return set()
        if self.strings[:2] != previous.strings[:2] and not _grew_from(self.strings, previous.strings):
            return set()
        return {title for title, sources in self.sheets.items() if previous.sheets.get(title) == sources}


def _grew_from(now: tuple, before: tuple) -> bool:
    """Whether the shared strings ``now`` (length, digest, and the digest of each prefix length
    asked) begin with the items ``before`` had; see ``_strings``."""
    return len(now) > 2 and dict(now[2:]).get(before[0]) == before[1]


@dataclass(frozen=True)
class _Prepared:
    """What ``XlsxBackend._prepare`` found: the bytes read, their fingerprint and sources, and
    calamine's parse of the tabs that changed (title -> sheet)."""

    data: bytes
    fingerprint: Fingerprint
    sources: SheetSources | None
    calamine: Any
    parsed: dict[str, Any]
    marks: dict[str, Marks] = field(default_factory=dict)  # xlsx_read.read_marks of those tabs


class PendingRead:
    """A read begun by ``XlsxBackend.begin_reusing``."""

    def __init__(self, backend: "XlsxBackend", previous: SheetSources | None, future: "Future[_Prepared] | None",
                 told: "Future[list[str]]"):
        self.backend = backend
        self.previous = previous
        self._future = future
        self._told = told

    def surely_changed(self) -> list[str]:
        """The titles of the tabs whose sheet part surely changed since ``previous`` (waits the
        moment it takes to read the zip's directory; none when that could not be told)."""
        return self._told.result()

    def finish(self, tabs: dict) -> tuple[Snapshot, SheetSources | None]:
        """As ``read_reusing(previous, tabs)``; the errors of reading (a missing or damaged
        file) are raised here."""
        backend = self.backend
        prepared = self._future.result() if self._future is not None else backend._prepare(self.previous, False)
        return backend._finish(prepared, self.previous, tabs)


def lock_files(path: Path) -> list[Path]:
    """Lock files that Excel/WPS (``~$name``), LibreOffice (``.~lock.name#``) and WPS
    (``.~name``) leave next to a workbook while it is open."""
    candidates = (f"~${path.name}", f".~lock.{path.name}#", f".~{path.name}")
    return [path.with_name(name) for name in candidates if path.with_name(name).exists()]


class XlsxBackend:
    name = "xlsx"

    def __init__(self, path: str | os.PathLike, *, backup: bool = True):
        self.path = Path(path)
        self.backup = backup
        self.backups = Backups(self.path)
        # content hashes of the versions this object stands for: the one read, then each one it
        # wrote; a snapshot of any of them may be applied while the file is the latest one
        self._lineage: set[str] = set()
        self._latest: str | None = None
        self.reads: list[list[str]] = []  # for each read, the titles it parsed (the others were known)
        self._written: str | None = None  # content hash of the last file this object wrote

    def describe(self) -> str:
        return self.path.name

    @property
    def backup_path(self) -> Path:
        """The newest kept version people left (where to look first after an accident)."""
        return self.backups.newest() or self.backups.folder

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
        self._lineage, self._latest = {fingerprint.sha256}, fingerprint.sha256
        self.reads.append(list(tabs))
        return Snapshot(tabs=tabs, source=self.path.name, version=fingerprint.text)

    def read_reusing(self, previous: SheetSources | None, tabs: dict, same_values: Iterable[str] = ()
                     ) -> tuple[Snapshot, SheetSources | None]:
        """Like ``read``, but a tab none of whose parts changed since ``previous`` (the sources of
        the read that gave ``tabs``) is taken from ``tabs`` instead of parsed (``reads`` lists the
        titles each read parsed). Returns the snapshot and this read's sources (None
        when the package is too unusual to tell: every tab is parsed next time).

        ``same_values``: titles whose values this backend's last write left as they were in
        ``tabs`` (it only painted or cleared marks there): while the file is still that write,
        only their fills and notes are read again."""
        return self._finish(self._prepare(previous, prefetch=False), previous, tabs, same_values)

    def begin_reusing(self, previous: SheetSources | None) -> "PendingRead":
        """``read_reusing(previous, tabs)`` begun before ``tabs`` are at hand: the file is read,
        its parts are hashed and the tabs that changed are parsed by calamine on another thread
        (none of that holds Python's lock, so the caller loads the cached tabs meanwhile);
        ``PendingRead.finish(tabs)`` does the rest and answers as ``read_reusing`` does.
        ``PendingRead.surely_changed()`` names, soon, the tabs that surely changed (their cached
        form is not needed)."""
        told: Future[list[str]] = Future()

        def prepare() -> _Prepared:
            try:
                return self._prepare(previous, True, told)
            finally:
                if not told.done():  # it failed before it knew: finish says why
                    told.set_result([])
        try:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sheetsync-read")
            future: Future[_Prepared] | None = executor.submit(prepare)
            executor.shutdown(wait=False)
        except RuntimeError as exc:  # no thread to be had: it is all done in finish
            log.debug("reading on this thread: %s", exc)
            future = None
            told.set_result([])
        return PendingRead(self, previous, future, told)

    def _prepare(self, previous: SheetSources | None, prefetch: bool,
                 told: "Future[list[str]] | None" = None) -> "_Prepared":
        """The file's bytes and sources, and (``prefetch``) calamine's parse of the tabs that
        changed since ``previous``: those whose sheet part's CRC or size changed (``told``
        their titles as soon as they are known) are parsed on another thread while the parts
        are hashed (the other changed tabs are left to ``read_tabs``). A tab calamine cannot
        parse is left to ``read_tabs`` too, which says why."""
        data, fingerprint = self._read_bytes()
        self._check_package(data)
        ahead: Future[tuple[Any, dict[str, Any]]] | None = None
        titles = self._surely_changed(data, previous) if prefetch else []
        if told is not None:
            told.set_result(list(titles))
        if titles:
            try:
                executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sheetsync-parse")
                ahead = executor.submit(self._parse_ahead, data, titles)
                executor.shutdown(wait=False)
            except RuntimeError as exc:  # no thread to be had: read_tabs parses them
                log.debug("not parsed ahead: %s", exc)
        sources = self._sources(data, previous)
        # their fills, notes and error cells meanwhile: the caller waits for the parse by then
        marks = read_marks(data, titles) if ahead is not None else {}
        calamine, parsed = ahead.result() if ahead is not None else (None, {})
        return _Prepared(data, fingerprint, sources, calamine, parsed, marks)

    def _surely_changed(self, data: bytes, previous: SheetSources | None) -> list[str]:
        """The titles of the worksheets whose part surely changed since ``previous`` (every one
        without it); none when the package cannot be told apart so cheaply."""
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                changed = surely_changed(zf, previous.members if previous is not None else None)
                return [s.title for s in pkg.sheets(zf, pkg.workbook_member(zf))
                        if s.kind == pkg.WORKSHEET and s.member in changed]
        except (zipfile.BadZipFile, KeyError, ET.ParseError, ValueError, EOFError, struct.error) as exc:
            log.debug("%s: changed tabs not known ahead (%s)", self.path.name, exc)
            return []

    def _parse_ahead(self, data: bytes, titles: list[str]) -> tuple[Any, dict[str, Any]]:
        """calamine's parse of ``titles`` (nothing when calamine refuses: ``read_tabs`` meets
        the error again and says what it is)."""
        try:
            calamine = CalamineWorkbook.from_filelike(io.BytesIO(data))
            return calamine, {title: calamine.get_sheet_by_name(title) for title in titles}
        except Exception as exc:  # noqa: BLE001 - calamine's own errors
            log.debug("%s: not parsed ahead (%s)", self.path.name, exc)
            return None, {}

    def _finish(self, prepared: "_Prepared", previous: SheetSources | None, tabs: dict,
                same_values: Iterable[str] = ()) -> tuple[Snapshot, SheetSources | None]:
        data, fingerprint, sources = prepared.data, prepared.fingerprint, prepared.sources
        reuse: dict = {}
        if sources is not None and previous is not None:
            reuse = {t: tabs[t] for t in sources.unchanged(previous) if t in tabs}
        marks_only = {}  # tabs whose values are known: only their fills and notes are read
        if fingerprint.sha256 == self._written:  # nobody saved since: what the write left is known
            marks_only = {t: tabs[t] for t in same_values if t in tabs and t not in reuse}
        try:
            read = read_tabs(data, reuse, marks_only, calamine=prepared.calamine, parsed=prepared.parsed,
                             marks=prepared.marks)
        except PackageError as exc:
            log.debug("%s: %s", self.path.name, exc)
            cause = exc.__cause__
            raise self._unreadable(data, cause if isinstance(cause, Exception) else exc) from None
        self.reads.append([t for t in read if t not in reuse and t not in marks_only])
        self._lineage, self._latest = {fingerprint.sha256}, fingerprint.sha256
        return Snapshot(tabs=read, source=self.path.name, version=fingerprint.text), sources

    def _sources(self, data: bytes, previous: SheetSources | None) -> SheetSources | None:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = member_digests(zf, data, previous.members if previous is not None else None)
                digests = {name: content for name, (_stored, content) in members.items()}
                workbook = pkg.workbook_member(zf)
                styles = pkg.styles_member(zf, workbook)
                signatures = pkg.style_signatures(zf.read(styles) if styles in digests else None)
                strings = _strings(zf, pkg.shared_strings_member(zf, workbook), previous)
                sheets: dict[str, tuple] = {}
                for sheet in pkg.sheets(zf, workbook):
                    if sheet.kind != pkg.WORKSHEET or sheet.member not in digests:
                        continue
                    comments = tuple(digests.get(r.target) for r in pkg.read_rels(zf, sheet.member)
                                     if r.type == pkg.COMMENTS and not r.external)
                    sheets[sheet.title] = (sheet.member, sheet.state, digests[sheet.member],
                                           digests.get(pkg.rels_member(sheet.member)), comments)
                return SheetSources(pkg.uses_1904_dates(zf.read(workbook)), signatures, strings, sheets, members)
        except (zipfile.BadZipFile, KeyError, ET.ParseError, ValueError, EOFError, struct.error) as exc:
            log.debug("%s: sources not known (%s)", self.path.name, exc)
            return None

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
        if isinstance(exc, (zipfile.BadZipFile, KeyError)):
            return BackendError("backends.xlsx.not_xlsx", name=name)
        return BackendError("backends.xlsx.damaged", name=name, error=str(exc), backup=self._backup_hint())

    def _backup_hint(self, repairable: bool = True) -> Reason:
        """What to do about a workbook that cannot be read: restore the backup when there is a
        usable one (named), otherwise copy the file again (or repair it, when there is
        something to repair)."""
        backup = self.backups.newest_usable()
        if backup is not None:
            return Reason("backends.xlsx.hint_backup", backup=str(backup), name=self.path.name)
        return Reason("backends.xlsx.hint_no_backup" if repairable else "backends.xlsx.hint_copy_again",
                      name=self.path.name)

    # -- apply ----------------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, snapshot: Snapshot) -> ApplyResult:
        """Apply the change set to the workbook ``snapshot`` was read from and save once, by
        patching the parts that change. Nothing at all is written for an empty change set,
        nor when every operation was skipped."""
        if changes.is_empty():
            return ApplyResult(written=0)
        self._refuse_if_open()
        self._refuse_if_read_only()
        data, fingerprint = self._current_for(snapshot)
        try:
            wb = Package(data)
            written, skipped = apply_cell_ops(wb, changes, snapshot)
            for tab in changes.tabs:
                replace_tab(wb, tab)
                written += 1
            for append in changes.appends:
                append_rows(wb, append)
                written += 1
            if not written:  # every operation was skipped, and a skipped one changes nothing
                return ApplyResult(written=0, skipped=skipped)
            new = wb.finish()
        except PatchError as exc:  # a value a cell cannot hold...: nothing saved
            raise BackendError("backends.xlsx.package_failed", name=self.path.name, error=str(exc)) from None
        except (KeyError, ValueError, ET.ParseError, zipfile.BadZipFile) as exc:  # a part we cannot make sense of
            raise BackendError("backends.xlsx.change_failed", name=self.path.name, error=str(exc)) from None
        backup = self._save(new, fingerprint)
        log.info("%s: wrote %d change(s), skipped %d", self.path.name, written, len(skipped))
        return ApplyResult(written=written, skipped=skipped, backup=str(backup) if backup else None)

    def _current_for(self, snapshot: Snapshot) -> tuple[bytes, Fingerprint]:
        """The file's bytes, when they are the version ``snapshot`` was read from, or a later
        one this backend wrote itself; anything else is someone else's save."""
        data, fingerprint = self._read_bytes()
        version = (snapshot.version or "").rsplit(":", 1)[-1]
        if self._latest is not None and version in self._lineage:
            expected = self._latest
        else:
            expected = version
            self._lineage, self._latest = {version}, version
        if fingerprint.sha256 != expected:
            raise self._changed_error()
        return data, fingerprint

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

    # -- save -----------------------------------------------------------------------------------

    def _save(self, data: bytes, expected: Fingerprint | None) -> Path | None:
        """Save atomically: write a temporary file in the same folder and fsync it, check once
        more that nobody saved meanwhile (``expected`` None: that nobody created the file), keep
        the version people left in the backup history, then swap the new file in with one
        rename. The original stays untouched on any failure. Returns the backup that holds the
        version people left (None when there was no previous file or backups are off)."""
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            self._write_durably(tmp, data)
            if expected is not None:
                self._refuse_if_changed(expected)
            elif self.path.exists():
                raise WorkbookBusyError("backends.xlsx.created_meanwhile", name=self.path.name)
            keep = expected is not None and expected.size > 0 and self.backup  # no backup of an empty file
            backup = self.backups.keep(expected.sha256) if keep and expected is not None else None
            os.replace(tmp, self.path)
        except OSError as exc:
            raise self._save_error(exc) from None
        finally:
            _remove_quietly(tmp)  # never let a failed clean-up hide why the save failed
        _fsync_folder(self.path.parent)
        written = hashlib.sha256(data).hexdigest()
        if self.backup:
            self.backups.written(written)
        self._lineage.add(written)
        self._latest = written
        self._written = written
        return backup

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

    def _write_durably(self, tmp: Path, data: bytes) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if self.path.exists():  # keep the workbook's permissions (a shared drive's group access)
            os.chmod(tmp, stat.S_IMODE(os.stat(self.path).st_mode))

    # -- init -----------------------------------------------------------------------------------

    def init_layout(self, tabs: list[TabLayout]) -> InitResult:
        """Create the file or add the tabs it lacks (titles compared exactly). Existing tabs are
        never touched; nothing is written when no tab is missing."""
        if not self.path.exists():
            return self._create(tabs, None)
        data, fingerprint = self._read_bytes()
        if not data:  # a 0-byte file (touched, or an empty placeholder): a new, empty workbook
            return self._create(tabs, fingerprint)
        self._check_package(data)
        try:
            wb = Package(data)
        except (KeyError, ValueError, ET.ParseError, zipfile.BadZipFile, EOFError) as exc:
            raise self._unreadable(data, exc) from None
        titles = {s.title for s in wb.sheets}
        result = InitResult(created=[t.title for t in tabs if t.title not in titles],
                            kept=[t.title for t in tabs if t.title in titles])
        if not result.created:
            return result
        self._refuse_if_open()
        self._refuse_if_read_only()
        try:
            for layout in tabs:
                if layout.title in result.created:
                    add_tab(wb, layout)
            new = wb.finish()
        except PatchError as exc:
            raise BackendError("backends.xlsx.package_failed", name=self.path.name, error=str(exc)) from None
        self._save(new, fingerprint)
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
        buffer = io.BytesIO()
        archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        try:
            ExcelWriter(wb, archive).save()  # what wb.save does, minus stamping the wall-clock time
        except Exception as exc:  # openpyxl validates on save (a bad value, a bad name...)
            raise BackendError("backends.xlsx.package_failed", name=self.path.name, error=str(exc)) from None
        finally:
            archive.close()
        self._save(buffer.getvalue(), empty)
        return InitResult(created=[t.title for t in tabs])


def _strings(zf: zipfile.ZipFile, member: str | None, previous: SheetSources | None) -> tuple:
    """(length, SHA-256) of the shared strings' items, followed by (n, SHA-256 of the first n
    bytes) for the length the previous read had, when the items are longer now (their first
    items may be the previous ones: ``SheetSources.unchanged``)."""
    body = pkg.shared_strings_body(zf.read(member)) if member and member in zf.namelist() else b""
    out: tuple = (len(body), hashlib.sha256(body).hexdigest())
    if previous is not None and 0 <= previous.strings[0] < len(body):
        n = previous.strings[0]
        out += ((n, hashlib.sha256(body[:n]).hexdigest()),)
    return out


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
