"""After an edit, only the tabs whose parts changed are parsed and bound again; the others, and
the results of their timeless rules, come from the read cache. Never a stale answer: whatever
the cache reuses must read exactly as a full read of the edited file."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime

import pytest

from conftest import NOW
from sheetsync.backends import xlsx_package as pkg
from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.engine import run
from sheetsync.readcache import ReadCache
from sheetsync.registry import get_jobs
from sheetsync.templates import load_template


_INLINE = re.compile(rb't="inlineStr"><is><t(?: xml:space="preserve")?>([^<]*)</t></is>')


@pytest.fixture
def with_strings(waiting_workbook):
    """The workbook with its text in shared strings (``t="s"``), as Excel keeps it."""
    with zipfile.ZipFile(waiting_workbook) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
    items: dict[bytes, int] = {}

    def shared(m):
        return b't="s"><v>%d</v>' % items.setdefault(m[1], len(items))
    parts = [(i, _INLINE.sub(shared, d) if i.filename.startswith("xl/worksheets/sheet") else d) for i, d in parts]
    sst = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (
        len(items), len(items)) + b"".join(b"<si><t>%s</t></si>" % t for t in items) + b"</sst>"
    rel = (b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
           b' Target="sharedStrings.xml" Id="rIdStrings" /></Relationships>')
    kind = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            b'spreadsheetml.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(waiting_workbook, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", rel)
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", kind)
            zf.writestr(info, data)
        zf.writestr("xl/sharedStrings.xml", sst)
    assert items
    return waiting_workbook


def do_run(path, cache, now=NOW):
    backend = XlsxBackend(path)
    return run(backend, get_jobs(None), now=now, cache=cache), backend


def findings(report):
    return sorted((f.tab, f.row, f.column, f.code, f.message) for f in report.findings)


def settled(path, cache):
    """First run (writes marks and its own tabs), second run (reads what it wrote): from then on
    the file stays as it is until someone edits it."""
    do_run(path, cache)
    report, _ = do_run(path, cache)
    assert report.applied is None
    return report


def member_of(path, title):
    with zipfile.ZipFile(path) as zf:
        return next(s.member for s in pkg.sheets(zf, pkg.workbook_member(zf)) if s.title == title)


def rewrite(path, edits):
    """Save the package again with ``edits`` (member -> bytes -> bytes) applied, every member
    compressed anew, as a spreadsheet program saves a whole file."""
    with zipfile.ZipFile(path) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            zf.writestr(info, edits[info.filename](data) if info.filename in edits else data)


def cell_with(path, title, text):
    """(sheet row, column letters) of the first cell of ``title`` whose value is ``text``."""
    from openpyxl import load_workbook

    ws = load_workbook(path)[title]
    return next((c.row, c.column_letter) for row in ws.iter_rows() for c in row if c.value == text)


def set_cell(ref, inner):
    """An edit of one cell of a sheet part: ``inner`` becomes its type attribute and content."""
    pattern = re.compile(rb'<c r="%s"([^>]*?)(?: t="\w+")?(?:/>|>.*?</c>)' % ref.encode(), re.S)

    def edit(xml):
        new, n = pattern.subn(lambda m: b'<c r="%s"%s%s' % (ref.encode(), m[1], inner.encode()), xml, count=1)
        assert n == 1
        return new
    return edit


def edit_li(path, text=""):
    """Rewrite the 客服台账 cell that reads 李先生 to ``text`` (empty: no customer), every part
    compressed anew as a spreadsheet program saves; returns its (row, column letters)."""
    row, col = cell_with(path, "客服台账", "李先生")
    rewrite(path, {member_of(path, "客服台账"): set_cell(f"{col}{row}", f' t="inlineStr"><is><t>{text}</t></is></c>')})
    return row, col


def uncached(path, tmp_path):
    report, _ = do_run(path, ReadCache(tmp_path / "elsewhere"))
    return report


def test_a_cache_hit_parses_nothing(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    report, backend = do_run(waiting_workbook, cache)
    assert report.from_cache and backend.reads == []


def test_only_the_edited_tab_is_parsed_again_and_the_edit_is_seen(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    before = settled(waiting_workbook, cache)
    row, col = edit_li(waiting_workbook)
    report, backend = do_run(waiting_workbook, cache)
    assert not report.from_cache and backend.reads[0] == ["客服台账"]
    assert ("客服台账", row, "客户", "column.required") in [(f.tab, f.row, f.column, f.code) for f in report.findings]
    assert findings(report) != findings(before)
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))


def test_the_reused_tabs_read_as_a_full_read_of_the_edited_file(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    edit_li(waiting_workbook, "李女士")
    backend = XlsxBackend(waiting_workbook)
    full = XlsxBackend(waiting_workbook).read()
    hit, previous = cache.lookup(backend.version(), load_template())
    assert hit is None and previous is not None
    snapshot, _ = backend.read_reusing(previous.sources, previous.snapshot.tabs)
    assert backend.reads[0] == ["客服台账"]
    assert snapshot.tabs == full.tabs and list(snapshot.tabs) == list(full.tabs)


def test_a_read_begun_while_the_cache_loads_reads_as_a_full_read(waiting_workbook, tmp_path):
    """The engine begins reading the edited file (hashing its parts, calamine parsing the tab
    that changed) before the cache's tabs are loaded: the answer is that of a full read."""
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    edit_li(waiting_workbook, "李女士")
    backend = XlsxBackend(waiting_workbook)
    begun = []
    hit, previous = cache.lookup(backend.version(), load_template(),
                                 meanwhile=lambda known: begun.append(backend.begin_reusing(known)))
    assert hit is None and len(begun) == 1 and begun[0].previous == previous.sources
    snapshot, sources = begun[0].finish(previous.snapshot.tabs)
    assert backend.reads == [["客服台账"]]
    full = XlsxBackend(waiting_workbook).read()
    assert snapshot.tabs == full.tabs and list(snapshot.tabs) == list(full.tabs)
    assert sources == backend.read_reusing(previous.sources, previous.snapshot.tabs)[1]


def test_the_zip_directory_tells_the_edited_sheet_part_apart(waiting_workbook, tmp_path):
    """Every part compressed anew, one cell changed: by CRC and size only the edited sheet's
    part surely changed (the others are hashed to tell); with nothing known every part did."""
    import io

    from sheetsync.backends.xlsx_zip import member_digests, surely_changed

    def digests():
        data = waiting_workbook.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return member_digests(zf, data)

    before = digests()
    member = member_of(waiting_workbook, "客服台账")
    with zipfile.ZipFile(waiting_workbook) as zf:
        assert surely_changed(zf, before) == set()
        assert surely_changed(zf, None) == set(zf.namelist())
    row, col = cell_with(waiting_workbook, "客服台账", "李先生")
    rewrite(waiting_workbook, {member: set_cell(f"{col}{row}", ' t="inlineStr"><is><t>李女士</t></is></c>')})
    with zipfile.ZipFile(waiting_workbook) as zf:
        assert surely_changed(zf, before) == {member}
    assert {m for m, d in digests().items() if d[1] != before[m][1]} == {member}


def test_the_cached_form_of_a_tab_that_surely_changed_is_not_loaded(waiting_workbook, tmp_path):
    """In a new process (nothing held in memory), the tab whose sheet part surely changed is
    parsed anew anyway: its part of the cache is not unpickled; the last read knows it by its
    title and headers only, and the read is a full one."""
    from sheetsync import readcache

    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    headers = cache.get(XlsxBackend(waiting_workbook).version(), load_template()).workbook.tabs["cs_log"].headers
    edit_li(waiting_workbook, "李女士")
    readcache.forget()
    backend = XlsxBackend(waiting_workbook)
    begun = []

    def meanwhile(known):
        begun.append(backend.begin_reusing(known))
        return begun[0].surely_changed()

    hit, previous = cache.lookup(backend.version(), load_template(), meanwhile=meanwhile)
    assert begun[0].surely_changed() == ["客服台账"]
    assert previous.snapshot.tabs["客服台账"].rows == [] and previous.snapshot.tabs["库存"].rows
    assert previous.workbook.tabs["cs_log"].headers == headers and previous.workbook.tabs["cs_log"].title == "客服台账"
    snapshot, _ = begun[0].finish(previous.snapshot.tabs)
    assert backend.reads == [["客服台账"]]
    assert snapshot.tabs == XlsxBackend(waiting_workbook).read().tabs


def test_an_edited_state_tab_is_read_again_when_its_part_was_not_loaded(waiting_workbook, tmp_path):
    """Someone typed into the hidden state tab: its cached form is not loaded, the state is read
    from the tab as it is now, and the run says what a run without a cache says."""
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    member = member_of(waiting_workbook, "_sheetsync")
    typed = '<row r="999"><c r="A999" t="inlineStr"><is><t>请勿改</t></is></c></row></sheetData>'.encode()
    rewrite(waiting_workbook, {member: lambda xml: xml.replace(b"</sheetData>", typed, 1)})
    alone = tmp_path / "alone.xlsx"
    alone.write_bytes(waiting_workbook.read_bytes())
    without_cache = uncached(alone, tmp_path)
    backend = CountingBackend(waiting_workbook)
    report = run(backend, get_jobs(None), now=NOW, cache=cache)
    assert backend.begun == 1 and backend.reads[0] == ["_sheetsync"]
    assert "state.unreadable" in {f.code for f in report.findings}
    assert findings(report) == findings(without_cache)


def test_no_read_is_begun_for_an_unchanged_workbook(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    begun = []
    hit, _ = cache.lookup(XlsxBackend(waiting_workbook).version(), load_template(), meanwhile=begun.append)
    assert hit is not None and begun == []


class CountingBackend(XlsxBackend):
    def __init__(self, path):
        super().__init__(path)
        self.begun = 0

    def begin_reusing(self, previous):
        self.begun += 1
        return super().begin_reusing(previous)


def test_the_run_after_an_edit_begins_its_read_while_the_cache_loads(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    edit_li(waiting_workbook)
    backend = CountingBackend(waiting_workbook)
    report = run(backend, get_jobs(None), now=NOW, cache=cache)
    assert backend.begun == 1 and backend.reads[0] == ["客服台账"]
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))


def test_a_file_gone_after_its_read_was_begun_is_said_at_the_finish(waiting_workbook, tmp_path):
    """What goes wrong on the reading thread (the file removed, cut short) is raised where the
    read is finished, as the plain read raises it."""
    from sheetsync.errors import BackendError

    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    backend = XlsxBackend(waiting_workbook)
    last, _ = cache.lookup(backend.version(), load_template())
    waiting_workbook.unlink()
    pending = backend.begin_reusing(last.sources)
    with pytest.raises(BackendError) as caught:
        pending.finish(last.snapshot.tabs)
    assert caught.value.key == "backends.xlsx.not_found"
    waiting_workbook.write_bytes(b"PK\x03\x04 cut off")
    with pytest.raises(BackendError) as caught:
        backend.begin_reusing(last.sources).finish(last.snapshot.tabs)
    assert caught.value.key == "backends.xlsx.cut_off"


def test_a_new_shared_string_keeps_the_other_tabs(with_strings, tmp_path):
    """Excel adds the text typed into a cell at the end of the shared strings: the other tabs'
    strings keep their numbers, so they are not parsed again."""
    cache = ReadCache(tmp_path / "cache")
    settled(with_strings, cache)
    with zipfile.ZipFile(with_strings) as zf:
        strings = pkg.shared_strings_member(zf, pkg.workbook_member(zf))
        count = zf.read(strings).count(b"<si>")
    assert strings

    def add_string(xml):
        return xml.replace(b"</sst>", "<si><t>王女士</t></si></sst>".encode())
    row, col = cell_with(with_strings, "客服台账", "李先生")
    rewrite(with_strings, {strings: add_string,
                       member_of(with_strings, "客服台账"): set_cell(f"{col}{row}", f' t="s"><v>{count}</v></c>')})
    report, backend = do_run(with_strings, cache)
    assert backend.reads[0] == ["客服台账"]
    assert "王女士" in [v for r in XlsxBackend(with_strings).read().tabs["客服台账"].rows for v in r]
    assert findings(report) == findings(uncached(with_strings, tmp_path))


def test_a_changed_shared_string_means_every_tab_is_parsed(with_strings, tmp_path):
    """A shared string changed in place changes every cell that uses it, on any tab."""
    cache = ReadCache(tmp_path / "cache")
    settled(with_strings, cache)
    with zipfile.ZipFile(with_strings) as zf:
        strings = pkg.shared_strings_member(zf, pkg.workbook_member(zf))
    assert strings
    rewrite(with_strings, {strings: lambda xml: xml.replace("<t>周深</t>".encode(), "<t>周浅</t>".encode(), 1)})
    report, backend = do_run(with_strings, cache)
    assert set(backend.reads[0]) >= {"成员", "推广确认单"}
    assert findings(report) == findings(uncached(with_strings, tmp_path))


def test_a_changed_cell_style_means_every_tab_is_parsed(waiting_workbook, tmp_path):
    """A style's number format decides whether a number reads as a date: a style changed in
    place may change any tab's values."""
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    with zipfile.ZipFile(waiting_workbook) as zf:
        styles = pkg.styles_member(zf, pkg.workbook_member(zf))
    assert styles

    def restyle(xml):  # the number format of the first cell style: a date column would read as numbers
        at = xml.index(b"<cellXfs")
        tail, n = re.subn(rb'(<xf\b[^>]*?numFmtId=")(\d+)(")', lambda m: m[1] + b"2" + m[3], xml[at:], count=1)
        assert n == 1 and tail != xml[at:]
        return xml[:at] + tail
    rewrite(waiting_workbook, {styles: restyle})
    report, backend = do_run(waiting_workbook, cache)
    assert len(backend.reads[0]) > 2
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))


def test_timeless_rules_of_unchanged_tabs_are_not_computed_again(waiting_workbook, tmp_path):
    from sheetsync.core import rules

    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    edit_li(waiting_workbook, "李女士")
    rules.MASKS.reset()
    uncached(waiting_workbook, tmp_path)
    full = rules.MASKS.count
    rules.MASKS.reset()
    report, backend = do_run(waiting_workbook, cache)
    assert backend.reads[0] == ["客服台账"]
    assert 0 < rules.MASKS.count < full
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))


def test_an_edited_settings_tab_computes_every_rule_again(waiting_workbook, tmp_path):
    """设置 and 成员 are read by rules of other tabs: their results are not reused (counted from
    the cache files, as a new process reads them: a process that holds the last entry also keeps
    what the run worked out per tab, such as the feedback rows, while their tabs are unchanged)."""
    from sheetsync import readcache
    from sheetsync.core import rules

    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    rules.MASKS.reset()
    uncached(waiting_workbook, tmp_path)
    full = rules.MASKS.count
    row, col = cell_with(waiting_workbook, "成员", "周深")
    rewrite(waiting_workbook, {member_of(waiting_workbook, "成员"): set_cell(f"{col}{row}", ' t="inlineStr"><is><t>周浅</t></is></c>')})
    readcache.forget()
    rules.MASKS.reset()
    report, backend = do_run(waiting_workbook, cache)
    assert backend.reads[0] == ["成员"]
    assert rules.MASKS.count >= full
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))


def weekly_of(report):
    """The 周报 as the run made it: every week's KPIs, breakdowns and feedback columns."""
    return [(w.week_start, w.kpis, w.breakdowns) for w in report.weekly.history]


@pytest.mark.parametrize("customer", ["李女士", ""])
def test_the_weekly_counts_of_unchanged_tabs_are_not_counted_again(waiting_workbook, tmp_path, customer):
    """After an edit of 客服台账 the 周报's KPIs and breakdowns of the other tabs are taken from
    the cache (fewer masks than counting them all), and the 周报 reads as a full read's does."""
    from sheetsync.core import rules

    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    edit_li(waiting_workbook, customer)
    weekly = get_jobs(["weekly-summary"])
    rules.MASKS.reset()
    full = run(XlsxBackend(waiting_workbook), weekly, now=NOW, cache=ReadCache(tmp_path / "elsewhere"))
    counted_all = rules.MASKS.count
    rules.MASKS.reset()
    backend = XlsxBackend(waiting_workbook)
    report = run(backend, weekly, now=NOW, cache=cache)
    assert backend.reads[0] == ["客服台账"]
    assert 0 < rules.MASKS.count < counted_all
    assert weekly_of(report) == weekly_of(full)


# -- the entry held in memory (a scheduler's next run) ---------------------------------------------


def test_the_next_run_of_the_process_takes_the_entry_it_holds(waiting_workbook, tmp_path):
    """A process that ran keeps the entry it wrote: its next run on the same folder (another
    ReadCache, another template object, as each scheduled run makes) unpickles no part and
    finds what a run reading the cache files finds."""
    from sheetsync import readcache

    settled(waiting_workbook, ReadCache(tmp_path / "cache"))
    held = ReadCache(tmp_path / "cache")
    report, backend = do_run(waiting_workbook, held)
    assert report.from_cache and held.parts_loaded == 0 and backend.reads == []
    readcache.forget()
    from_files = ReadCache(tmp_path / "cache")
    again, _ = do_run(waiting_workbook, from_files)
    assert again.from_cache and from_files.parts_loaded > 2
    assert findings(report) == findings(again)


def test_after_an_edit_the_held_entry_serves_the_unchanged_tabs(waiting_workbook, tmp_path):
    settled(waiting_workbook, ReadCache(tmp_path / "cache"))
    edit_li(waiting_workbook, "李女士")
    held = ReadCache(tmp_path / "cache")
    report, backend = do_run(waiting_workbook, held)
    assert held.parts_loaded == 0 and backend.reads[0] == ["客服台账"]
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))
    assert weekly_of(report) == weekly_of(uncached(waiting_workbook, tmp_path))


@pytest.mark.parametrize("change", ["index by another process", "part rewritten"])
def test_cache_files_changed_since_are_read_not_the_held_entry(waiting_workbook, tmp_path, change):
    """The held entry serves only while the cache files are the ones it was held with: another
    process's run (cron's ``sheetsync run``) wrote a new entry, or a part file was written again."""
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    if change == "index by another process":
        edit_li(waiting_workbook, "李女士")
        other = ReadCache(tmp_path / "cache", hold=False)
        do_run(waiting_workbook, other)
        assert other.parts_loaded > 0
    else:
        part = sorted((tmp_path / "cache").glob("part-*.pickle"))[0]
        data = part.read_bytes()
        part.unlink()
        part.write_bytes(data)
    fresh = ReadCache(tmp_path / "cache")
    report, backend = do_run(waiting_workbook, fresh)
    assert report.from_cache and backend.reads == [] and fresh.parts_loaded > 2
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))


# -- the run right after sheetsync's own write -----------------------------------------------------


class Frame:
    """A DataFrame compared by content (empty cells equal to empty cells), dtypes included."""

    def __init__(self, df):
        self.df = df

    def __eq__(self, other):
        return self.df.equals(other.df) and list(self.df.dtypes) == list(other.df.dtypes)

    def __repr__(self):
        return repr(self.df)


def bound_form(wb):
    """What the rules read of a bound workbook, comparable with ==."""
    return {k: (t.title, t.header_row, t.col_index, t.headers, t.keys, t.usable, t.spare_headers,
                sorted(map(repr, t.findings)), Frame(t.raw), Frame(t.frame), Frame(t.bad))
            for k, t in wb.tabs.items()}


def test_after_its_own_write_the_cache_holds_what_a_read_of_the_file_gives(waiting_workbook, tmp_path):
    from sheetsync.engine import load

    template = load_template()
    cache = ReadCache(tmp_path / "cache")
    first, _ = do_run(waiting_workbook, cache)
    assert first.applied is not None and first.applied.written
    backend = XlsxBackend(waiting_workbook)
    hit, _ = cache.lookup(backend.version(), template)
    assert hit is not None  # kept for the file as written, without a read by the next run
    full = backend.read()
    assert list(hit.snapshot.tabs) == list(full.tabs)
    for title, data in full.tabs.items():
        assert hit.snapshot.tabs[title] == data, title
    loaded = load(full, template, NOW)
    assert bound_form(hit.workbook) == bound_form(loaded.workbook)
    assert hit.state == loaded.state and hit.settings == loaded.settings


def test_the_run_after_its_own_write_parses_nothing_and_finds_nothing_new(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    first, _ = do_run(waiting_workbook, cache)
    before = waiting_workbook.read_bytes()
    second, backend = do_run(waiting_workbook, cache)
    assert second.from_cache and backend.reads == [] and second.applied is None
    assert waiting_workbook.read_bytes() == before
    assert findings(second) == findings(first) == findings(uncached(waiting_workbook, tmp_path))


def test_a_save_right_after_its_own_write_is_read(waiting_workbook, tmp_path, monkeypatch):
    """Someone saves between sheetsync's write and its look at the result: what the write left
    is not assumed, the file is read for what it is."""
    row, col = cell_with(waiting_workbook, "客服台账", "李先生")
    written = XlsxBackend.apply

    def apply_then_someone_saves(self, changes, snapshot):
        result = written(self, changes, snapshot)
        rewrite(self.path, {member_of(self.path, "客服台账"): set_cell(f"{col}{row}", ' t="inlineStr"><is><t></t></is></c>')})
        return result
    monkeypatch.setattr(XlsxBackend, "apply", apply_then_someone_saves)
    cache = ReadCache(tmp_path / "cache")
    do_run(waiting_workbook, cache)
    monkeypatch.setattr(XlsxBackend, "apply", written)
    report, _ = do_run(waiting_workbook, cache)
    assert ("客服台账", row, "客户", "column.required") in [(f.tab, f.row, f.column, f.code) for f in report.findings]
    assert findings(report) == findings(uncached(waiting_workbook, tmp_path))


def test_a_refresh_that_fails_costs_only_the_cache(waiting_workbook, tmp_path, monkeypatch):
    reading = XlsxBackend.read_reusing

    def fails_after_the_write(self, previous, tabs, same_values=()):
        if same_values:
            raise OSError("the file went away right after the write")
        return reading(self, previous, tabs)
    monkeypatch.setattr(XlsxBackend, "read_reusing", fails_after_the_write)
    cache = ReadCache(tmp_path / "cache")
    first, _ = do_run(waiting_workbook, cache)  # the write itself is done and reported
    assert first.applied is not None and first.applied.written
    monkeypatch.undo()
    second, backend = do_run(waiting_workbook, cache)
    assert not second.from_cache and second.applied is None and findings(second) == findings(first)
    assert do_run(waiting_workbook, cache)[0].from_cache


def test_after_an_edit_only_the_edited_tab_is_stored_again(waiting_workbook, tmp_path):
    """The cache keeps one file per tab: after an edit, the others are not written again."""
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    edit_li(waiting_workbook, "李女士")
    cache = ReadCache(tmp_path / "cache")
    report = run(XlsxBackend(waiting_workbook), get_jobs(None), now=NOW, cache=cache, dry_run=True)
    assert not report.from_cache and cache.parts_written == 1
    again, backend = do_run(waiting_workbook, ReadCache(tmp_path / "cache"))
    assert again.from_cache and backend.reads == [] and findings(again) == findings(report)
    stored = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len([n for n in stored if n.startswith("part-")]) == len(XlsxBackend(waiting_workbook).read().tabs) + 1


@pytest.mark.parametrize("damage", ["missing", "garbage", "swapped"])
def test_a_damaged_part_of_the_cache_is_a_miss(waiting_workbook, tmp_path, damage):
    cache = ReadCache(tmp_path / "cache")
    before = settled(waiting_workbook, cache)
    parts = sorted((tmp_path / "cache").glob("part-*.pickle"))
    assert len(parts) > 2
    if damage == "missing":
        parts[0].unlink()
    elif damage == "garbage":
        parts[0].write_bytes(b"sheetsync-read-cache\n" + b"\x00" * 40)
    else:  # two valid parts under each other's names
        a, b = parts[0].read_bytes(), parts[1].read_bytes()
        parts[0].write_bytes(b)
        parts[1].write_bytes(a)
    report, backend = do_run(waiting_workbook, ReadCache(tmp_path / "cache"))
    assert not report.from_cache and findings(report) == findings(before)
    assert do_run(waiting_workbook, ReadCache(tmp_path / "cache"))[0].from_cache  # stored whole again


# -- a new year: dates without one ('12-30', 设置's '10-01') read in another year ------------------


def test_the_settings_kept_from_the_last_read_are_read_in_the_shops_year():
    """设置 read in the first hours of a year in the shop (still the last one in UTC) are read in
    the shop's year, and a later run that keeps them has what a full read has."""
    from datetime import timezone

    from conftest import base_tabs, snapshot_of
    from sheetsync.engine import load
    from sheetsync.readcache import CachedRead

    template = load_template("zh-CN")
    snap = snapshot_of(base_tabs(template, {"休息日": "10-01, 10-02"}))
    first = load(snap, template, datetime(2025, 12, 31, 17, 0, tzinfo=timezone.utc))  # 01:00 in Shanghai
    assert first.now.year == 2026 and sorted(first.settings.rest_days) == [date(2026, 10, 1), date(2026, 10, 2)]
    previous = CachedRead(snap, first.workbook, first.settings, first.state, first.now.year, sources=object())
    later = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    assert load(snap, template, later, previous).settings == load(snap, template, later).settings


def test_no_content_only_result_is_kept_into_another_year():
    """A KPI's counts of '12-30' rows made in December are not kept on 1 January: the same cells
    now fall in another week."""
    from conftest import base_tabs, row_for, snapshot_of
    from sheetsync.core.job import JobContext
    from sheetsync.core.weekly import kpi_counts
    from sheetsync.engine import kept_rule_results, load
    from sheetsync.readcache import CachedRead

    template = load_template("zh-CN")
    tabs = base_tabs(template)
    tabs["客服台账"].append(row_for(template, "cs_log", customer="王女士", type="产品咨询", asked_at="12-30 10:00",
                                  answered_at="12-30 10:02", resolved="是"))
    snap = snapshot_of(tabs)
    december = load(snap, template, datetime(2025, 12, 31, 12, 0))
    memo: dict = {}
    kpi_counts(JobContext(december.workbook, december.settings, december.state, december.now, {"rule_memo": memo}))
    assert memo
    previous = CachedRead(snap, december.workbook, december.settings, december.state, december.now.year,
                          sources=object())
    january = load(snap, template, datetime(2026, 1, 2, 12, 0), previous)
    assert kept_rule_results(january, previous, memo) == {}
