"""What an unchanged workbook parsed into, kept between runs.

With a check every couple of minutes, most runs meet a workbook nobody touched since the last
one. Such a run should not read and parse every cell again: the bound workbook (parsed columns,
row keys, layout findings), the 设置 and the state tab of the last run are kept in the records
folder (``<state dir>/cache/``: an index, ``read.pickle``, and one ``part-*.pickle`` per tab and
for the state, so that after an edit only the parts that changed are written again), keyed by

* the workbook's content version (the backend's cheap ``version()``; for an .xlsx file without
  one, the SHA-256 of its bytes — hashing is a small fraction of parsing),
* the template (a digest of everything it says), sheetsync's version and this file's format;
  and the entry is only used when dates without a year (``11-20``) were read in the shop's
  current year.

Anything else is a miss, and the entry is replaced after the read. After an edit the entry still
serves the tabs that did not change: the backend (``XlsxBackend.read_reusing``, with the sources
kept in ``CachedRead.sources``) parses only the tabs one of whose parts changed, the engine binds
only those again, keeps the state when its tab is the same, and keeps the timeless rule results
of every tab whose rules read nothing that changed. A cache file that cannot
be read — damaged, cut short, written by another version, not ours at all — is a miss too, never an
error; so is a folder that cannot be written (the run just parses as before).

A process that runs again (``sheetsync schedule``, every couple of minutes) holds the last entry
in memory as well: the next lookup on the same folder takes it instead of unpickling the parts,
while the index file still bears the signature it was held with and no part file was written
again since (size, modification time, inode). ``forget()`` drops what is held.

Jobs still run on every hit: the rules that depend on the time (SLA clocks, "overdue", lead
times) must see this run's ``now``. The others (``rules.TIMELESS_KINDS``: required-if, forbid,
role, choice, cross-tab stock ...) give the same result on the same content; theirs are kept in
``cache/rules.pickle`` under the same key and reused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle
import secrets
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .core.binding import BoundTab, BoundWorkbook, raw_frame
from .core.model import RowKeys, Snapshot, TabData, paused_gc
from .core.settings import Settings
from .core.state import State
from .core.template import Template

log = logging.getLogger(__name__)

FORMAT = 8  # raised whenever a cached class changes its shape or meaning (8: 设置 read in the shop's year)
_MAGIC = b"sheetsync-read-cache\n"
_SIGNATURE = 32  # bytes of HMAC-SHA256 after the magic line
FILE_NAME = "read.pickle"
MEMO_FILE = "rules.pickle"
PLAN_FILE = "plan.pickle"
PART = "part-{}.pickle"  # one tab's data and bound form, or the state: written again only when it changed


@dataclass
class CachedRead:
    """What a run needs from a read: the snapshot, and what it was bound to."""

    snapshot: Snapshot
    workbook: BoundWorkbook
    settings: Settings
    state: State
    year: int  # the year dates without one were read in
    # what reading each tab depended on (the backend's ``read_reusing``): after an edit, the tabs
    # whose parts did not change are taken from here instead of parsed and bound again
    sources: Any = None
    version: str | None = field(default=None, compare=False)  # the content it was read from (set on load)


def template_digest(template: Template) -> str:
    return hashlib.sha256(repr(template).encode()).hexdigest()


def content_version(backend: Any) -> str | None:
    """The backend's cheap content version, or the hash of an .xlsx file's bytes; None when the
    backend offers neither (every run then reads)."""
    version: Callable[[], str | None] | None = getattr(backend, "version", None)
    if callable(version):
        try:
            return version()
        except Exception as exc:  # noqa: BLE001 - no version means no cache, never a failed run
            log.debug("no content version: %s", exc)
            return None
    path = getattr(backend, "path", None)
    if isinstance(path, Path) and path.is_file():
        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        return "sha256:" + digest.hexdigest()
    return None


def key_path() -> Path:
    """Where this user's signing key lives."""
    named = os.environ.get("SHEETSYNC_CACHE_KEY")
    if named:
        return Path(named)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "sheetsync" / "cache.key"


def user_key(path: Path | None = None) -> bytes | None:
    """This user's signing key, made (mode 600) on first use; None when it cannot be read or made,
    or when others may read it (then no cache is kept)."""
    path = path or key_path()
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        if os.name == "posix" and path.stat().st_mode & 0o077:
            log.info("cache key %s can be read by others: no read cache", path)
            return None
        key = path.read_bytes()
    except OSError as exc:
        log.info("no cache key (%s): no read cache", exc)
        return None
    return key if len(key) >= 16 else None


class ReadCache:
    """One entry: the last read. ``hits`` / ``misses`` count what this object served (tests
    and the run log read them). ``key`` signs the files (default: this user's key)."""

    def __init__(self, folder: Path | str, key: bytes | None = None, *, hold: bool = True):
        self.folder = Path(folder)
        self.key = key if key is not None else user_key()
        # keep the last entry in memory for the next ReadCache of this folder in this process
        # (``forget`` drops what is held): taken only while its files are as they were
        self.hold = hold
        self.hits = 0
        self.misses = 0
        # the parts of the entry last loaded or written: name -> (what was stored, its signature
        # objects; see ``_same_part``), so that a put writes again only the tabs that changed
        self._parts: dict[str, tuple[str, tuple]] = {}
        self.parts_written = 0  # how many part files this object wrote (tests count them)
        self.parts_loaded = 0  # how many it read (none when the entry held in memory served)

    def _load(self, path: Path) -> Any:
        """What ``_write`` stored at ``path``, once its signature checks out."""
        return self._unpickle(self._signed(path)[1])

    def _signed(self, path: Path) -> tuple[bytes, bytes]:
        """(signature, body) of the file ``_write`` wrote at ``path``, once the signature checks out."""
        if self.key is None:
            raise ValueError("no cache key")
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            raise ValueError("not a sheetsync cache file")
        signature, body = data[len(_MAGIC):len(_MAGIC) + _SIGNATURE], data[len(_MAGIC) + _SIGNATURE:]
        if not hmac.compare_digest(signature, hmac.new(self.key, body, hashlib.sha256).digest()):
            raise ValueError("signature does not match (not written by this user)")
        return signature, body

    @staticmethod
    def _unpickle(body: bytes) -> Any:
        with paused_gc():  # loading a read makes millions of objects, none of them garbage
            return pickle.loads(body)

    @property
    def path(self) -> Path:
        return self.folder / FILE_NAME

    def _key(self, version: str, template: Template) -> tuple[Any, ...]:
        from . import __version__  # the package imports the engine, which imports this module

        return (FORMAT, __version__, version, template_digest(template))

    def get(self, version: str | None, template: Template) -> CachedRead | None:
        return self.lookup(version, template)[0]

    def lookup(self, version: str | None, template: Template,
               meanwhile: Callable[[Any], Any] | None = None) -> tuple[CachedRead | None, CachedRead | None]:
        """(the read of this very content, or None; else the last read under this template and
        sheetsync version, whose unchanged tabs may still be reused, or None).

        ``meanwhile``: called with the last read's ``sources`` when the entry is of other
        content, before its parts are loaded (the caller may begin reading the workbook while
        they are: ``XlsxBackend.begin_reusing``); it may answer the titles of tabs that surely
        changed, whose parts are then not loaded (the last read has each as an empty tab under
        its title and headers: never the same data, so never reused)."""
        if version is None:
            return None, None
        try:
            signature, body = self._signed(self.path)
            want = self._key(version, template)
            held = self._held(signature)
            if held is not None:  # what this process last wrote or read there, its files untouched since
                key, names = held.key, held.names
                if len(key) != len(want) or key[:2] != want[:2] or key[3:] != want[3:]:
                    self.misses += 1
                    return None, None
                if meanwhile is not None and key[2] != version:
                    meanwhile(held.entry.sources)  # begins the read; every part is at hand already
                cached = _retemplated(held.entry, template)
            else:
                key, payload = self._unpickle(body)
                if len(key) != len(want) or key[:2] != want[:2] or key[3:] != want[3:]:
                    self.misses += 1
                    return None, None
                skeleton, names = payload
                skip: set = set()
                if meanwhile is not None and key[2] != version:
                    skip = set(meanwhile(skeleton.sources) or ())
                parts: dict[str, Any] = {}
                for part, name in names.items():
                    if part in skip:
                        parts[part] = None
                        continue
                    stored_part, stored = self._load(self.folder / PART.format(name))
                    self.parts_loaded += 1
                    if stored_part != part:
                        raise ValueError(f"part {name} holds {stored_part!r}, not {part!r}")
                    parts[part] = stored
                cached = _attach(skeleton, parts, template)
                if not skip:
                    self._hold(signature, key, names, cached)
        except FileNotFoundError:
            self.misses += 1
            return None, None
        except Exception as exc:  # noqa: BLE001 - damaged, truncated, foreign or stale: read the workbook
            log.info("read cache %s ignored: %s", self.path, exc)
            self.misses += 1
            return None, None
        self._parts = {part: (names[part], _signature(cached, part)) for part in names}
        if key[2] != version:
            self.misses += 1
            cached.version = key[2]
            return None, cached
        self.hits += 1
        cached.version = version
        return cached, None

    def put(self, version: str | None, template: Template, cached: CachedRead) -> None:
        """Keep ``cached`` for ``version``: a small index (``read.pickle``) and one part file per
        tab and for the state; a part that is still what the last entry had (the same objects:
        taken over unchanged) is not written again."""
        if version is None or self.key is None:
            return
        skeleton, parts = _split(cached)
        names: dict[str, str] = {}
        for part, stored in parts.items():
            known = self._parts.get(part)
            if known is not None and _same_part(known[1], _signature(cached, part)) and \
                    (self.folder / PART.format(known[0])).is_file():
                names[part] = known[0]
                continue
            name = secrets.token_hex(8)
            if not self._write(self.folder / PART.format(name), (part, stored)):
                return
            self.parts_written += 1
            names[part] = name
        key = self._key(version, template)
        signature = self._write(self.path, (key, (skeleton, names)))
        if signature:
            self._parts = {part: (names[part], _signature(cached, part)) for part in names}
            self._remove_parts_but(set(names.values()))
            self._hold(signature, key, names, cached)

    # -- the last entry, held in memory for the next run of this process -----------------------

    def _hold(self, signature: bytes, key: tuple, names: dict[str, str], cached: CachedRead) -> None:
        """Keep ``cached`` (the entry whose index file bears ``signature``) for the next lookup
        in this process: ``sheetsync schedule`` runs every couple of minutes, and loading the
        parts again would be most of an idle run's time."""
        files = self._part_files(names)
        if files is None or not self.hold:
            return
        with _HELD_LOCK:
            _HELD.pop(self._folder_key, None)
            _HELD[self._folder_key] = _Held(signature, files, key, dict(names), cached)
            while len(_HELD) > _HELD_MAX:
                _HELD.pop(next(iter(_HELD)))

    def _held(self, signature: bytes) -> "_Held | None":
        """The entry held for this folder, if its index file is still the one it was held with
        (``signature``) and none of its part files was changed, removed or replaced since."""
        if not self.hold:
            return None
        with _HELD_LOCK:
            held = _HELD.get(self._folder_key)
        if held is None or not hmac.compare_digest(held.signature, signature):
            return None
        return held if self._part_files(held.names) == held.files else None

    def _part_files(self, names: dict[str, str]) -> tuple | None:
        """(name, size, modification time, inode) of each part file ``names`` names; None when
        one cannot be found."""
        out = []
        try:
            for name in sorted(names.values()):
                st = (self.folder / PART.format(name)).stat()
                out.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            return None
        return tuple(out)

    @property
    def _folder_key(self) -> str:
        return os.path.abspath(self.folder)

    def _remove_parts_but(self, names: set[str]) -> None:
        """Remove the part files no entry refers to any more."""
        try:
            for path in self.folder.glob(PART.format("*")):
                if path.name[len("part-"):-len(".pickle")] not in names:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            log.debug("old cache parts not removed: %s", exc)


    # -- the results of the timeless rules on the same content (rules.TIMELESS_KINDS) ---------

    @property
    def memo_path(self) -> Path:
        return self.folder / MEMO_FILE

    def memo(self, version: str | None, template: Template) -> dict | None:
        """The kept rule results for this content, or None (then every rule runs)."""
        if version is None:
            return None
        try:
            key, memo = self._load(self.memo_path)
            if key != self._key(version, template) or not isinstance(memo, dict):
                return None
            return memo
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - damaged or foreign: the rules run again
            log.info("rule results %s ignored: %s", self.memo_path, exc)
            return None

    def put_memo(self, version: str | None, template: Template, memo: dict) -> None:
        if version is None:
            return
        self._write(self.memo_path, (self._key(version, template), memo))

    # -- the last plan on the same content that changed nothing (engine._plan_key) -------------

    @property
    def plan_path(self) -> Path:
        return self.folder / PLAN_FILE

    def unchanged_plan(self, version: str | None, template: Template) -> Any:
        """What ``put_unchanged_plan`` kept for this content, or None."""
        if version is None:
            return None
        try:
            key, kept = self._load(self.plan_path)
            return kept if key == self._key(version, template) else None
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - damaged or foreign: the plan is worked out
            log.info("kept plan %s ignored: %s", self.plan_path, exc)
            return None

    def put_unchanged_plan(self, version: str | None, template: Template, kept: Any) -> None:
        if version is not None:
            self._write(self.plan_path, (self._key(version, template), kept))

    def _write(self, path: Path, payload: Any) -> bytes | None:
        """Store ``payload`` at ``path``, signed; returns the signature (None: not written)."""
        if self.key is None:
            return None
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with paused_gc():
                body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            self.folder.mkdir(parents=True, exist_ok=True)
            signature = hmac.new(self.key, body, hashlib.sha256).digest()
            with tmp.open("wb") as fh:
                fh.write(_MAGIC + signature + body)
            os.replace(tmp, path)
            return signature
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written costs a re-read, no more
            log.info("read cache %s not written: %s", path, exc)
            try:
                tmp.unlink()
            except OSError:
                pass
            return None


_STATE = "\x00state"  # the part holding the state (tab titles are never empty-prefixed so)


@dataclass(frozen=True)
class _Held:
    """An entry held in memory: the signature of its index file, the (name, size, modification
    time, inode) of its part files, its key, its part names and the entry itself."""

    signature: bytes
    files: tuple
    key: tuple
    names: dict[str, str]
    entry: CachedRead


# folder -> the entry its cache last held in this process, the most recent last (a scheduler
# watches one workbook; a few are held at most)
_HELD: dict[str, _Held] = {}
_HELD_MAX = 2
_HELD_LOCK = threading.Lock()


def forget() -> None:
    """Drop every entry held in memory: the next lookup reads the cache files, as a new process
    does."""
    with _HELD_LOCK:
        _HELD.clear()


def _retemplated(cached: CachedRead, template: Template) -> CachedRead:
    """``cached`` bound to ``template`` (an equal template read again: every run reads its
    template; the entry's tabs get its objects, their data and parsed columns stay the same)."""
    wb = cached.workbook
    if wb.template is template:
        return cached
    tabs = {key: replace(tab, template=template.tabs[key]) for key, tab in wb.tabs.items()}
    return replace(cached, workbook=replace(wb, template=template, tabs=tabs))


def _split(cached: CachedRead) -> tuple[CachedRead, dict[str, Any]]:
    """(the entry without its tabs and state, its parts): each tab's data with the bound form of
    the template tabs bound to it (without the template: the key has its digest and the current
    object is put back on load), and the state."""
    wb = cached.workbook
    snapshot = replace(cached.snapshot, tabs={title: None for title in cached.snapshot.tabs})  # type: ignore[misc]
    parts: dict[str, Any] = {title: (data, {}) for title, data in cached.snapshot.tabs.items()}
    tabs: dict[str, Any] = {}
    for key, tab in wb.tabs.items():
        bare = replace(tab, template=None, _raw_arrays={})  # type: ignore[arg-type]
        title = tab.data.title if tab.data is not None else None
        if title is not None and title in parts and parts[title][0] is tab.data:
            # its raw cells are views of the data's columns: made again on load (binding.raw_frame)
            remade = isinstance(tab.keys, RowKeys) and tab.raw.index is tab.frame.index
            parts[title][1][key] = replace(bare, data=None, raw=None if remade else tab.raw)
            tabs[key] = _InPart(title, dict(tab.headers))
        else:
            tabs[key] = bare
    parts[_STATE] = cached.state
    own = wb.snapshot is cached.snapshot
    skeleton_wb = replace(wb, template=None, tabs=tabs, _members=None,  # type: ignore[arg-type]
                          snapshot=snapshot if own else wb.snapshot)
    return replace(cached, snapshot=snapshot, workbook=skeleton_wb, state=None), parts  # type: ignore[arg-type]


@dataclass(frozen=True)
class _InPart:
    """In the index: a bound tab kept in the part of its data's title (headers: as bound)."""

    title: str
    headers: dict[str, str]


def _attach(skeleton: CachedRead, parts: dict[str, Any], template: Template) -> CachedRead:
    """The entry with its parts put back; a part not loaded (None) becomes an empty tab under
    its title (``lookup``'s ``meanwhile``)."""
    snapshot = skeleton.snapshot
    for title in snapshot.tabs:
        snapshot.tabs[title] = parts[title][0] if parts[title] is not None else TabData(title, [])
    wb = skeleton.workbook
    tabs = {}
    for key, tab in wb.tabs.items():
        if isinstance(tab, _InPart) and parts[tab.title] is None:  # not loaded: its title and headers only
            tab = BoundTab(template.tabs[key], snapshot.tabs[tab.title], headers=dict(tab.headers))
        elif isinstance(tab, _InPart):  # bound to the data of that title
            data, bound = parts[tab.title]
            tab = replace(bound[key], data=data)
            if tab.raw is None:
                tab.raw = raw_frame(data, template.tabs[key], tab.header_row, tab.col_index, tab.keys.rows,
                                    tab.frame.index)
        tabs[key] = replace(tab, template=template.tabs[key])
    return replace(skeleton, state=parts[_STATE], workbook=replace(wb, template=template, tabs=tabs))


def _signature(cached: CachedRead, part: str) -> tuple:
    """The objects a part was made of: a later entry made of the same ones (a tab taken over
    unchanged, as the engine does) holds the same part."""
    if part == _STATE:
        return (cached.state,)
    data = cached.snapshot.tabs.get(part)
    bound = tuple((key, tab.raw, tab.frame, tab.bad, tab.keys, tab.header_row, dict(tab.col_index),
                   dict(tab.headers), list(tab.findings), tab.usable, list(tab.spare_headers))
                  for key, tab in cached.workbook.tabs.items() if tab.data is not None and tab.data is data)
    return (data, bound)


def _same_part(before: tuple, now: tuple) -> bool:
    """The same objects (identity) where a part holds objects, equal values elsewhere."""
    if len(before) != len(now) or before[0] is not now[0]:
        return False
    if len(now) == 1:
        return True
    if len(before[1]) != len(now[1]):
        return False
    for old, new in zip(before[1], now[1], strict=True):
        if old[0] != new[0] or any(a is not b for a, b in zip(old[1:5], new[1:5], strict=True)) or old[5:] != new[5:]:
            return False
    return True
