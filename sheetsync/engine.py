"""One run: read once, compute (pure), plan the minimal change set, write once.

This is the only place that touches a backend during a run. Jobs never know which backend
they use; the planner never knows either.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time as _time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from .backends.base import Backend
from .core.job import Job, JobContext, JobOutput
from .core.model import (Snapshot, ApplyResult, ChangeSet, DailyDigest, Finding, OpenProblem, ReplaceTab, WeeklyReport,
                         paused_gc)
from .core.planner import one_per_cell, plan, unchanged_plan, with_run_log
from .core.settings import Settings, settings_from_rows
from .core.planner import Layout
from .core.rules import OF_TABS
from .core.state import Resolver, State, load_state, since_time
from .core.template import _norm_header
from .i18n import load_catalogue
from .core.template import Template
from .templates import load_template
from .core.weekly import with_problems
from .core.binding import BoundWorkbook, bind
from .progress import Quiet
from .readcache import CachedRead, ReadCache, content_version
from .core.alerts import AlertPlan, members_of, plan_alerts, row_labels
from .i18n.cells import worded_tab
from .i18n.findings import catalogue_for, note_prefix, with_messages

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    jobs: list[str]
    source: str
    now: datetime
    findings: list[Finding]
    changes: ChangeSet
    applied: ApplyResult | None
    dry_run: bool
    rows_read: int
    duration: float
    weekly: WeeklyReport | None = None
    daily: DailyDigest | None = None
    not_painted: set = field(default_factory=set)
    settings: Settings | None = None  # the 设置 the run used (the scheduler reuses them)
    from_cache: bool = False  # the workbook had not changed since the last run: nothing was re-parsed
    traffic: Any = None  # network backends: the run's API requests and bytes (google_transport.Traffic)
    alerts: AlertPlan | None = None  # who is told what this run (delivered by the shell)
    # notes that are not problems (severity "info": a value sheetsync filled in); ``findings`` are
    # the problems only
    notes: list[Finding] = field(default_factory=list)
    scorecard: Any = None  # core.scorecard.ScorecardReport (the cs-scorecard job)

    @property
    def problems(self) -> int:
        return len(self.findings)


@dataclass
class Loaded:
    """A snapshot bound to the template, with settings and state: everything jobs read."""

    workbook: BoundWorkbook
    settings: Settings
    state: State
    now: datetime  # naive shop time


def to_shop_time(now: datetime, tz_name: str) -> datetime:
    """Aware -> shop-local naive. Naive input is taken as already in shop time."""
    if now.tzinfo is None:
        return now
    return now.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None)


def load(snapshot, template: Template, now: datetime, previous: CachedRead | None = None) -> Loaded:
    """Bind ``snapshot``. ``previous``: the last read kept by the cache; its tabs whose data was
    taken over unchanged (the same TabData objects) are not bound again, nor the state tab."""
    def reusable(year: int) -> dict | None:
        return previous.workbook.tabs if previous is not None and previous.year == year else None

    wb = bind(snapshot, template, year=now.year, reuse=reusable(now.year))
    settings = _settings(wb, template, now.year, previous)
    local = to_shop_time(now, settings.tz_name)
    if local.year != now.year:  # '11-20' means the shop's current year (设置's holidays too)
        wb = bind(snapshot, template, year=local.year, reuse=reusable(local.year))
        settings = _settings(wb, template, local.year, previous)
    title = wb.owned_titles["state"]
    if previous is not None and _same_state(snapshot, wb, previous, title):
        return Loaded(wb, settings, previous.state, local)
    state = load_state(snapshot.tabs.get(title), state_resolver(wb))
    return Loaded(wb, settings, state, local)


def _same_state(snapshot: Snapshot, wb: BoundWorkbook, previous: CachedRead, title: str) -> bool:
    """Whether the state tab reads as it did in ``previous``: the same tab data, under the same
    tab titles and headers (how its rows are resolved to template ids)."""
    if snapshot.tabs.get(title) is not previous.snapshot.tabs.get(title) or \
            previous.workbook.owned_titles.get("state") != title:
        return False
    return [(k, t.title, t.headers) for k, t in wb.tabs.items()] == \
        [(k, t.title, t.headers) for k, t in previous.workbook.tabs.items()]


def unchanged_tabs(loaded: Loaded, previous: CachedRead) -> set[str]:
    """Template keys of the tabs whose bound form was taken over from ``previous``."""
    before = previous.workbook.tabs
    return {k for k, t in loaded.workbook.tabs.items() if k in before and t.data is before[k].data}


def kept_rule_results(loaded: Loaded, previous: CachedRead, memo: dict) -> dict:
    """The timeless rule results of ``previous`` (``memo``) that still hold: those of a tab that
    did not change, when no tab its rules may read changed either (设置, 成员, any tab a rule
    names, e.g. the inventory) nor what they read from the state tab (signatures, values filled
    in, the week reported); a result kept under ``rules.of_tabs`` (a KPI's counts, a
    breakdown's rows) holds when that holds for each of its tabs."""
    before, now = previous.state, loaded.state
    if (before.signed, before.filled, before.reported) != (now.signed, now.filled, now.reported):
        return {}  # what the rules read from the state tab
    if previous.year != loaded.now.year:
        return {}  # dates without a year ('12-30') read in another year: every result may differ
    wb = loaded.workbook
    same = unchanged_tabs(loaded, previous)
    shared = {k for k, t in wb.tabs.items() if t.template.role in ("settings", "members")}

    def reads(key: str) -> set[str]:
        named = {v for rule in wb.tabs[key].template.rules for v in rule.params.values()
                 if isinstance(v, str) and v in wb.tabs}
        return {key} | shared | named

    valid = {k for k in same if reads(k) <= same}

    def holds(key: Any) -> bool:
        if not isinstance(key, tuple) or not key:
            return False
        if key[0] == OF_TABS:  # a result read from several tabs (rules.of_tabs): all unchanged
            return len(key) > 1 and isinstance(key[1], tuple) and all(t in valid for t in key[1])
        return key[0] in valid

    return {k: v for k, v in memo.items() if holds(k)}


def _settings(wb: BoundWorkbook, template: Template, year: int, previous: CachedRead | None = None) -> Settings:
    """The 设置 as bound in ``wb``, dates without a year read in ``year``; those of ``previous``
    when its 设置 tab was taken over unchanged and read in the same year (``CachedRead.year``:
    the shop's year, the one its 设置 were read in)."""
    st = wb.by_role("settings")
    if previous is not None and previous.year == year and st.data is not None:
        before = previous.workbook.tabs.get(st.template.key)
        if before is not None and before.data is st.data and before.header_row == st.header_row and \
                before.col_index == st.col_index and before.headers == st.headers:
            return previous.settings
    settings = settings_from_rows(st.data.rows if st.data else [], specs=template.settings, tab_title=st.title,
                                  year=year, owner_role=template.manager_role, first_row=st.header_row + 1,
                                  key_col=st.col_index.get("key", 1), value_col=st.col_index.get("value", 2),
                                  key_header=st.header("key"), value_header=st.header("value"),
                                  tab_id=st.template.key)
    return settings


@dataclass
class Read:
    snapshot: Snapshot
    loaded: Loaded
    from_cache: bool  # nothing was parsed
    version: str | None  # the content version it belongs to (None: no cache, or saved meanwhile)
    memo: dict | None = None  # the timeless rule results that still hold (None without a cache)
    entry: CachedRead | None = None  # what the cache now keeps for ``version``


def read_and_load(backend: Backend, template: Template, now: datetime, cache: ReadCache | None = None) -> Read:
    """Read and bind the workbook, or take both from ``cache`` when its content has not changed
    since the run that filled it; after an edit, the tabs whose parts did not change are taken
    from the cache too (backends with ``read_reusing``)."""
    version = content_version(backend) if cache is not None else None
    previous = None
    pending: list = []  # the read begun while the cache's parts load (backends with ``begin_reusing``)
    begin: Any = getattr(backend, "begin_reusing", None)

    def begin_read(known: Any) -> list[str]:  # the tabs that surely changed: their cached form is not loaded
        pending.append(begin(known))
        return pending[0].surely_changed()

    if cache is not None and version is not None:
        hit, previous = cache.lookup(version, template, meanwhile=begin_read if callable(begin) else None)
        local = to_shop_time(now, hit.settings.tz_name) if hit is not None else now
        if hit is not None and local.year == hit.year:  # '11-20' was read in this year
            log.info("%s unchanged since the last run: not read again", hit.snapshot.source)
            return Read(hit.snapshot, Loaded(hit.workbook, hit.settings, hit.state, local), True, version,
                        cache.memo(version, template) or {}, hit)
        previous = previous or hit
    reading = getattr(backend, "read_reusing", None)
    sources = None
    if pending:
        snapshot, sources = pending[0].finish(previous.snapshot.tabs if previous is not None else {})
    elif callable(reading) and cache is not None and version is not None:
        known = previous.sources if previous is not None else None
        snapshot, sources = reading(known, previous.snapshot.tabs if previous is not None else {})
    else:
        snapshot = backend.read()
    if previous is not None and previous.sources is None:
        previous = None  # nothing of it can be told unchanged
    loaded = load(snapshot, template, now, previous)
    if cache is None or version is None:
        return Read(snapshot, loaded, False, None)
    if content_version(backend) != version:  # saved meanwhile: this read belongs to no version
        return Read(snapshot, loaded, False, None)
    memo: dict = {}
    if previous is not None and previous.version is not None:
        memo = kept_rule_results(loaded, previous, cache.memo(previous.version, template) or {})
    entry = CachedRead(snapshot, loaded.workbook, loaded.settings, loaded.state, loaded.now.year, sources, version)
    cache.put(version, template, entry)
    return Read(snapshot, loaded, False, version, memo, entry)


def refresh_after_write(backend: Backend, cache: ReadCache, template: Template, now: datetime, read: Read,
                        changes: ChangeSet, memo: dict) -> bool:
    """Keep in ``cache`` what the file just written by this run reads as, so that the next run
    (an idle one, typically) is a hit: the tabs the write did not touch are taken over, those
    where it only painted or cleared marks keep their values and have their fills and notes read
    again, the others (its own tabs, values filled in) are parsed. Nothing is kept when the file
    is not the one written any more (someone saved meanwhile). Returns whether it was kept."""
    reading = getattr(backend, "read_reusing", None)
    entry = read.entry
    if not callable(reading) or entry is None or entry.sources is None:
        return False
    version = content_version(backend)
    if version is None:
        return False
    valued = {f.tab for f in changes.fills} | {t.tab for t in changes.tabs} | {a.tab for a in changes.appends}
    snapshot, sources = reading(entry.sources, entry.snapshot.tabs,
                                same_values=[t for t in entry.snapshot.tabs if t not in valued])
    tabs = {}
    for key, bound in entry.workbook.tabs.items():  # marks only: the bound values stand as they are
        data = snapshot.tabs.get(bound.data.title) if bound.data is not None else None
        if data is not None and bound.data is not None and data is not bound.data and \
                data.title not in valued and data.rows is bound.data.rows:
            bound = replace(bound, data=data)
        tabs[key] = bound
    previous = replace(entry, workbook=replace(entry.workbook, tabs=tabs))
    loaded = load(snapshot, template, now, previous)
    if content_version(backend) != version:
        return False
    cache.put(version, template, CachedRead(snapshot, loaded.workbook, loaded.settings, loaded.state,
                                            loaded.now.year, sources, version))
    cache.put_memo(version, template, kept_rule_results(loaded, previous, memo))
    return True


def state_resolver(wb: BoundWorkbook) -> Resolver:
    """How a version-1 state tab's titles and headers map to template ids: the titles and headers
    as bound now, and every form the template accepts (aliases, full width, the other language)."""

    def tab_id(title: str) -> str | None:
        for key, tab in wb.tabs.items():
            if title == tab.title or _norm_header(title) in tab.template.title_forms():
                return key
        return None

    def column_id(tab_key: str, header: str) -> str | None:
        tab = wb.tabs[tab_key]
        for col_id, seen in tab.headers.items():
            if seen == header:
                return col_id
        norm = _norm_header(header)
        return next((c.id for c in tab.template.columns if norm in c.header_forms()), None)

    return Resolver(tab_id, column_id)


def layout_of(wb: BoundWorkbook) -> Layout:
    """Where each tab, row key and column id is in the workbook as read."""
    present = [t for t in wb.tabs.values() if t.data is not None]
    return Layout(tabs={t.template.key: t.title for t in present},
                  keys={t.template.key: t.keys for t in present},
                  columns={t.template.key: dict(t.col_index) for t in present})


def _kept_findings(loaded: Loaded, job_names: set[str]) -> list[Finding]:
    """Open problems found earlier by jobs not run this time stay open, re-aimed at their row."""
    wb = loaded.workbook
    out = []
    for (tab_id, key, col_id, code), p in loaded.state.problems.items():
        if p.job in job_names:
            continue
        tab = wb.tabs.get(tab_id)
        if tab is None or tab.data is None:
            continue
        rows_by_key = {k: r for r, k in tab.keys.items()}
        row = rows_by_key.get(key, p.row if key.startswith("@") else None)
        if row is None:
            continue
        known = col_id in tab.col_index
        out.append(Finding(tab.title, row, tab.header(col_id) if known else p.column,
                           tab.col_index[col_id] if known else p.col, p.value, code, p.message,
                           row_key=key if not key.startswith("@") else "", owner_role=p.owner_role, job=p.job,
                           paint=p.paint, tab_id=tab_id, column_id=col_id if not col_id.startswith("@") else "",
                           params=dict(p.params), severity=p.severity, owners=tuple(p.owners),
                           deadline=since_time(p.deadline) if p.deadline else None,
                           priority=p.priority))
    return out


def owner_text(f: Finding, wb: BoundWorkbook) -> str:
    """Who must act, as 问题清单 and the e-mails say it: the row's people (Finding.owners), else
    the members of the owner role (else the role itself)."""
    if f.owners:
        return wb.template.join(f.owners)
    return wb.owner_names(f.owner_role) if f.owner_role else ""


def open_problems(findings: list[Finding], state: State, wb: BoundWorkbook) -> list[OpenProblem]:
    out = []
    layout = layout_of(wb)
    for f in findings:
        p = state.problems.get(layout.problem_key(f))
        since = since_time(p.since) if p else None
        out.append(OpenProblem(f.tab, f.row, f.column, f.message, f.code, f.owner_role, owner_text(f, wb), since))
    return out


def state_header(template: Template) -> tuple[str, ...]:
    return tuple(template.owned["state"].header)


def state_findings(loaded: Loaded) -> list[Finding]:
    """Rows of the hidden state tab that people changed and sheetsync could not read: said once
    (the run rewrites the tab), never a crash."""
    state = loaded.state
    if not state.unreadable:
        return []
    title = loaded.workbook.owned_titles["state"]
    owner = loaded.workbook.template.manager_role
    rows = tuple(u.row for u in state.unreadable)
    cat = load_catalogue(loaded.workbook.template.language)
    message = cat.text("findings.state.unreadable", rows=rows, tab=title)
    return [Finding(title, 0, "", 0, None, "state.unreadable", message, owner_role=owner, paint=False,
                    tab_id="@state", params={"rows": rows, "tab": title})]


def sort_findings(findings: list[Finding], wb: BoundWorkbook) -> list[Finding]:
    order = {t.title: i for i, t in enumerate(wb.tabs.values())}
    return sorted(findings, key=lambda f: (order.get(f.tab, 99), f.row, f.col, f.code))


def problems_tab_builder(wb: BoundWorkbook) -> Callable:
    tpl = wb.template
    title = wb.owned_titles["problems"]
    header = tpl.owned["problems"].header
    not_painted_note = catalogue_for(tpl).text("core.problems.not_painted")

    layout = layout_of(wb)

    def build(findings: list[Finding], state: State, not_painted: set) -> ReplaceTab:
        rows: list[tuple[Any, ...]] = [tuple(header)]
        for f in sort_findings(findings, wb):
            p = state.problems.get(layout.problem_key(f))
            message = f.message
            if (f.tab, f.row, f.col) in not_painted:
                message = f"{message} {not_painted_note}"
            value = "" if f.value is None else str(f.value)
            rows.append((f.tab, f.row or "", f.column, f.cell_ref, message, owner_text(f, wb), f.owner_role,
                         p.since if p else "", f.code, value))
        widths = (12, 6, 12, 8, 60, 12, 8, 17, 28, 20)
        return ReplaceTab(title, tuple(rows), protected=True, column_widths=widths, wrap_columns=(5,))

    return build


def run(backend: Backend, jobs: list[Job], *, now: datetime, template: Template | None = None,
        dry_run: bool = False, extras: dict[str, Any] | None = None,
        clock: Callable[[], float] = _time.perf_counter, cache: ReadCache | None = None,
        progress: Any = None) -> RunReport:
    """Run ``jobs`` once against ``backend``. Returns what was found and what was (or, with
    ``dry_run``, would be) written. Raises SheetsyncError subclasses with user-facing messages.
    ``cache`` keeps the last read (an unchanged workbook is not read again); ``progress``
    (``sheetsync.progress.Progress``) is told each phase: reading, checking, planning, writing."""
    progress = progress or Quiet()
    try:
        # a run makes millions of objects and no garbage cycles worth collecting meanwhile: on a
        # big workbook the collector's passes over them were a third of the plan's time
        with paused_gc():
            return _run(backend, jobs, now, template, dry_run, extras, clock, cache, progress)
    finally:
        progress.close()


def _run(backend: Backend, jobs: list[Job], now: datetime, template: Template | None, dry_run: bool,
         extras: dict[str, Any] | None, clock: Callable[[], float], cache: ReadCache | None,
         progress: Any) -> RunReport:
    started = clock()
    traffic_before = getattr(backend, "traffic", None)
    template = template or load_template()
    catalogue = catalogue_for(template)
    progress.phase("read", source=backend.describe())
    read = read_and_load(backend, template, now, cache)
    snapshot, loaded, from_cache, version, memo = read.snapshot, read.loaded, read.from_cache, read.version, read.memo
    wb = loaded.workbook
    extras = dict(extras or {})
    kept = 0
    if memo is not None:  # timeless rules' results on this content (or on its unchanged tabs)
        kept = len(memo) if from_cache else -1  # a new version's results are always kept
        extras["rule_memo"] = memo
    ctx = JobContext(wb, loaded.settings, loaded.state, loaded.now, extras)
    names = [j.name for j in jobs]
    progress.phase("check_cached" if from_cache else "check", total=len(jobs), rows=wb.rows_read())
    outputs = _compute(jobs, ctx, loaded.state, snapshot.source, progress)
    progress.phase("plan")
    fresh = with_messages((f for o in outputs for f in o.findings), catalogue)
    earlier = _kept_findings(loaded, set(names))  # open problems of the jobs not run now
    findings = sort_findings(fresh + earlier, wb)
    signed = loaded.state.signed
    filled, reported = None, None
    for o in outputs:
        signed = o.state.get("signed", signed)
        filled = o.state.get("filled", filled)
        if "reported" in o.state:
            reported = (o.state["reported"]["week"], o.state["reported"]["at"])
    key_columns = {t.title: t.key_col_numbers() for t in wb.tabs.values() if t.data is not None}
    findings = one_per_cell(state_findings(loaded) + findings)  # one clear note per cell
    shown = {id(f) for f in findings}
    alerts = alert_plan(loaded, [f for f in fresh if id(f) in shown], [f for f in earlier if id(f) in shown])
    owned_tabs = [worded_tab(t, catalogue) for o in outputs for t in o.tabs]
    fills = [f for o in outputs for f in o.fills]
    frozen = {t.template.key for t in wb.tabs.values() if t.data is not None and not t.usable}
    prefix = note_prefix(catalogue)
    # the plan of a run given exactly what an earlier run on this content was given, whose plan
    # changed nothing, changes nothing either (an idle rerun): not worked out again
    inputs = (findings, fills, owned_tabs, signed, filled, reported, alerts.records, sorted(frozen), prefix)
    unchanged = cache.unchanged_plan(version, template) if cache is not None and from_cache else None
    if isinstance(unchanged, tuple) and len(unchanged) == 2 and unchanged[0] == _plan_key(inputs):
        result = unchanged_plan(findings, loaded.state, signed, loaded.now, layout_of(wb), key_columns,
                                unchanged[1], filled=filled, reported=reported, alerts=alerts.records)
    else:
        result = plan(snapshot, findings, fills, owned_tabs, loaded.state, signed, loaded.now, layout_of(wb),
                      key_columns, wb.owned_titles["state"], state_header(template), problems_tab_builder(wb),
                      frozen=frozen, prefix=prefix, filled=filled, reported=reported, alerts=alerts.records)
        if cache is not None and from_cache and result.changes.is_empty():
            cache.put_unchanged_plan(version, template, (_plan_key(inputs), frozenset(result.not_painted)))
    if cache is not None and memo is not None and len(memo) != kept:
        cache.put_memo(version, template, memo)
    notes = [f for f in findings if not f.is_problem]
    findings = [f for f in findings if f.is_problem]
    changes = result.changes
    duration = clock() - started
    if not changes.is_empty():
        header = template.owned["runlog"].header
        with_run_log(changes, wb.owned_titles["runlog"], header, (
            loaded.now.strftime("%Y-%m-%d %H:%M"), ", ".join(names), round(duration, 2), wb.rows_read(),
            len(findings), changes.count(), catalogue.text("core.runlog.preview" if dry_run else "core.runlog.ok")))
    weekly = next((o.weekly for o in outputs if o.weekly), None)
    if weekly is not None:
        weekly = with_problems(weekly, open_problems(findings, result.state, wb))
    daily = next((o.daily for o in outputs if o.daily), None)
    scorecard = next((o.scorecard for o in outputs if o.scorecard), None)
    applied = None
    if dry_run:
        log.info("dry run: %d change(s) not written", changes.count())
    elif changes.is_empty():
        log.info("%s: nothing changed, workbook not written (%d problem(s) open)", snapshot.source, len(findings))
    else:
        progress.phase("write", n=changes.count())
        applied = backend.apply(changes, snapshot)
        log.info("%s: wrote %d change(s)", snapshot.source, applied.written)
        if applied.written and cache is not None and version is not None and memo is not None:
            try:
                if refresh_after_write(backend, cache, template, now, read, changes, memo):
                    log.info("%s: the read cache holds the file as written", snapshot.source)
            except Exception as exc:  # noqa: BLE001 - the write is done; the next run reads the file instead
                log.info("read cache not refreshed after the write: %s", exc)
    traffic = backend.traffic.since(traffic_before) if traffic_before is not None else None  # type: ignore[attr-defined]
    if traffic is not None:
        log.info("%s: %d API request(s), %d bytes down, %d bytes up", snapshot.source, traffic.requests,
                 traffic.bytes_down, traffic.bytes_up)
    return RunReport(names, snapshot.source, loaded.now, findings, changes, applied, dry_run, wb.rows_read(),
                     clock() - started, weekly, daily, result.not_painted, loaded.settings, from_cache, traffic, alerts,
                     notes, scorecard=scorecard)


def _compute(jobs: list[Job], ctx: JobContext, state: State, source: str, progress: Any) -> list[JobOutput]:
    """Every job's output, in the order of ``jobs``. When 周报 reports a week, the other jobs see its
    misses as reported already: so the jobs that may report (``Job.reports``) run first and the others
    once, with the new state; a job that reported unannounced makes those before it run again."""
    order = sorted(range(len(jobs)), key=lambda i: not jobs[i].reports)
    outputs: dict[int, JobOutput] = {}
    stale: list[int] = []  # computed before the latest report
    for i in order:
        log.info("job %s on %s", jobs[i].name, source)
        outputs[i] = out = jobs[i].compute(ctx)
        progress.step()
        if "reported" in out.state:
            ctx.state = replace(state, reported=(out.state["reported"]["week"], out.state["reported"]["at"]))
            stale = [j for j in outputs if j != i and "reported" not in outputs[j].state]
    for i in stale:
        outputs[i] = jobs[i].compute(ctx)
    return [outputs[i] for i in range(len(jobs))]


class _Digest:
    """A file-like sink that hashes what is written to it."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        return len(data)


def _plan_key(inputs: tuple[Any, ...]) -> str:
    """A digest of what the planner is given beside the workbook as read, hashed as it is
    pickled. Pickled without the memo of repeated objects (``fast``), so that equal inputs give
    equal bytes however they share objects (findings taken from the memo of timeless results, or
    worked out anew). Worked out only on a run answered from the read cache: to compare, or to
    keep after a plan that changed nothing (about 0.3 s for 20,000 findings)."""
    sink = _Digest()
    pickler = pickle.Pickler(sink, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: none of these refers to itself
    pickler.dump(inputs)
    return sink.sha.hexdigest()


def alert_plan(loaded: Loaded, fresh: list[Finding], kept: list[Finding]) -> AlertPlan:
    """Who is told what this run: the problems found now against the alert records of the state
    tab (the problems of jobs not run keep their records as they are)."""
    wb, layout = loaded.workbook, layout_of(loaded.workbook)
    since = {k: p.since for k, p in loaded.state.problems.items()}
    return plan_alerts([(layout.problem_key(f), f) for f in fresh], since, loaded.state.alerts, loaded.settings,
                       members_of(wb), wb.template.manager_role, loaded.now, row_labels(wb, fresh),
                       keep=[layout.problem_key(f) for f in kept])


def check(backend: Backend, *, now: datetime, template: Template | None = None,
          extras: dict[str, Any] | None = None) -> list[Finding]:
    """Read-only: every problem the validate and reconcile-stock jobs find. Writes nothing."""
    from .registry import get_jobs

    report = run(backend, get_jobs(["validate", "reconcile-stock"]), now=now, template=template, dry_run=True,
                 extras=extras)
    return report.findings


__all__ = ["RunReport", "check", "load", "run", "to_shop_time"]
