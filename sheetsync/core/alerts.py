"""Alerts: tell the person who must act, once, and the manager when a red problem stays open.

Pure. From the findings of this run, the "since" of every open problem, the alert records kept
in the state tab (kind ``alert``), the settings, the people in 成员 and the time, decide

- which new warnings and new red problems go to whom (one batch per person, most urgent first),
- which red problems, open ``escalate_after`` of working time after their owner was told, go to
  the manager role once,
- the alert records to keep: one per open problem that was told, keyed by the problem key
  (tab id, row key, column id, code), so nothing is alerted twice across runs and restarts.

Outside working hours (设置 工作时间, rest days included) nothing is told unless
``alert_off_hours``: a problem found at 23:30 has no record yet, so the first run after the next
opening tells it. A batch's id is derived from the problem keys (and their "since"), so a run
repeated after a failed write puts the same message into the outbox, which never sends one twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .model import Finding
from .state import SINCE_FORMAT, Alert, ProblemKey, since_time

if TYPE_CHECKING:  # pragma: no cover
    from .binding import BoundTab, BoundWorkbook
    from .settings import Settings
    from .worktime import WorkClock

ESCALATION, BREACH, WARNING = "escalation", "error", "warn"
_URGENCY = {ESCALATION: 0, BREACH: 1, WARNING: 2}


@dataclass(frozen=True)
class Member:
    """A person of 成员 as alerts need them."""

    name: str
    role: str = ""
    email: str = ""
    mobile: str = ""


@dataclass(frozen=True)
class AlertItem:
    """One thing a person is told: a warning, a red problem, or (for the manager) an escalation."""

    kind: str  # ESCALATION | BREACH | WARNING
    finding: Finding
    key: ProblemKey
    since: str  # the problem's "since" (SINCE_FORMAT)
    label: str = ""  # what the row is about (its customer, order number…), for the reader
    owners: tuple[str, ...] = ()  # who must act (an escalation: who was told)
    told: datetime | None = None  # an escalation: when the owners were told

    @property
    def id(self) -> str:
        return "\x1f".join((self.kind, *self.key, self.since))

    def order(self) -> tuple[Any, ...]:
        due = self.finding.deadline
        return (_URGENCY.get(self.kind, 9), due is None, due or datetime.min, self.finding.tab, self.finding.row,
                self.finding.col, self.finding.code)


@dataclass(frozen=True)
class AlertBatch:
    """Everything one person is told in one run: one message, most urgent item first."""

    person: Member
    items: tuple[AlertItem, ...]

    @property
    def id(self) -> str:
        """Stable: the same person told the same items gives the same id, whenever it runs."""
        text = "\x1e".join([self.person.name, *sorted(i.id for i in self.items)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def escalations(self) -> int:
        return sum(1 for i in self.items if i.kind == ESCALATION)


@dataclass
class AlertPlan:
    batches: list[AlertBatch] = field(default_factory=list)
    records: dict[ProblemKey, Alert] = field(default_factory=dict)
    held: int = 0  # problems that wait for the next working start
    resume_at: datetime | None = None  # when held ones will go (the next opening)


def in_working_time(clock: "WorkClock", now: datetime) -> bool:
    """``now`` is inside 工作时间 (and not on a rest day)."""
    return clock.elapsed(now, now + timedelta(seconds=1)) > timedelta(0)


def next_opening(clock: "WorkClock", now: datetime) -> datetime:
    """The first working moment at or after ``now``."""
    return clock.deadline(now, timedelta(microseconds=1)) - timedelta(microseconds=1)


def _text(value: Any) -> str:
    if value is None or value != value:  # NaN
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def members_of(wb: "BoundWorkbook") -> list[Member]:
    """成员 as read: name, role, e-mail and 手机号 (a number typed as a number reads as digits)."""
    tab = wb.by_role("members")
    if not tab.usable or tab.frame.empty:
        return []
    out = []
    for _, row in tab.frame.iterrows():
        name = _text(row.get("name"))
        if name:
            out.append(Member(name, _text(row.get("role")), _text(row.get("email")),
                              _text(row.get("mobile")) if "mobile" in row else ""))
    return out


def _label_columns(tab: "BoundTab") -> list[str]:
    """The columns a row label is made of: the key columns that are text, then 客户."""
    types = {c.id: c.type for c in tab.template.columns}
    ids = [c for c in tab.template.key_columns if types.get(c) == "text"]
    if "customer" in types and "customer" not in ids:
        ids.append("customer")
    return [c for c in ids if tab.has(c)]


def row_label(tab: "BoundTab", row: int, columns: Sequence[str] | None = None) -> str:
    """What a row is about, for a reader who has not opened the sheet: its key cells that are
    text (客户 of 客服台账, 订单号 of 售后纠纷…) and its 客户 when that is not a key. ``columns``:
    ``_label_columns(tab)``, worked out once for many rows."""
    parts = [_text(tab.raw_value(row, c)) for c in (_label_columns(tab) if columns is None else columns)]
    return " · ".join(dict.fromkeys(p for p in parts if p))


def row_labels(wb: "BoundWorkbook", findings: Iterable[Finding]) -> dict[tuple[str, int], str]:
    """(tab title, row) -> :func:`row_label` of every row with a finding."""
    by_title = {t.title: t for t in wb.tabs.values() if t.data is not None and t.usable}
    columns: dict[str, list[str]] = {}
    out: dict[tuple[str, int], str] = {}
    for f in findings:
        tab = by_title.get(f.tab)
        if tab is not None and f.row > 0 and (f.tab, f.row) not in out:
            cols = columns.get(f.tab)
            if cols is None:
                cols = columns[f.tab] = _label_columns(tab)
            out[(f.tab, f.row)] = row_label(tab, f.row, cols)
    return out


def _told_people(f: Finding, members: Sequence[Member], manager_role: str) -> list[Member]:
    """The row's own people (``Finding.owners``), else the members of its role, else the manager."""
    by_name = {m.name: m for m in members}
    if f.owners:
        return [by_name.get(n, Member(n)) for n in dict.fromkeys(f.owners) if n]
    for role in (f.owner_role, manager_role):
        people = [m for m in members if role and m.role == role]
        if people:
            return people
    return [Member(f.owner_role or manager_role, f.owner_role or manager_role)]


def _parse(text: str) -> datetime | None:
    """A record's SINCE_FORMAT time (None when it is not one)."""
    try:
        return since_time(text)
    except (TypeError, ValueError):
        return None


def plan_alerts(found: Sequence[tuple[ProblemKey, Finding]], since: Mapping[ProblemKey, str],
                records: Mapping[ProblemKey, Alert], settings: "Settings", members: Sequence[Member],
                manager_role: str, now: datetime, labels: Mapping[tuple[str, int], str] | None = None,
                keep: Iterable[ProblemKey] = ()) -> AlertPlan:
    """Decide this run's alerts. ``found``: (problem key, finding) of every problem found this
    run; ``since``: when each open problem was first seen (absent = new now); ``records``: the
    alert records read from the state tab; ``keep``: keys of problems still open but not checked
    this run (their records stay as they are). Returns the batches and the records to keep."""
    labels = labels or {}
    clock = settings.clock()
    hold = not settings.alert_off_hours and not in_working_time(clock, now)
    stamp = now.strftime(SINCE_FORMAT)
    plan = AlertPlan(records={k: records[k] for k in keep if k in records})
    managers = [m for m in members if m.role == manager_role]
    told: dict[str, tuple[Member, list[AlertItem]]] = {}

    def tell(person: Member, item: AlertItem) -> None:
        told.setdefault(person.name, (person, []))[1].append(item)

    for key, f in found:
        if f.severity not in (WARNING, BREACH):  # "info": a note on a value sheetsync filled in, not a problem
            continue
        first_seen = since.get(key, stamp)
        label = labels.get((f.tab, f.row), "")
        prev = records.get(key)
        if prev is not None:
            record = prev
            told_at = _parse(prev.told)
            owners_are_managers = bool(managers) and all(n in {m.name for m in managers} for n in prev.to)
            due = (f.severity == BREACH and not prev.escalated and told_at is not None and managers
                   and not owners_are_managers and clock.elapsed(told_at, now) >= settings.escalate_after)
            if due and hold:
                plan.held += 1
            elif due:
                item = AlertItem(ESCALATION, f, key, prev.since or first_seen, label, prev.to, told_at)
                for person in managers:
                    tell(person, item)
                record = replace(prev, escalated=stamp)
            plan.records[key] = record
            continue
        if hold:
            plan.held += 1
            continue
        people = _told_people(f, members, manager_role)
        kind = WARNING if f.severity == WARNING else BREACH
        item = AlertItem(kind, f, key, first_seen, label, tuple(p.name for p in people))
        for person in people:
            tell(person, item)
        plan.records[key] = Alert(stamp, tuple(p.name for p in people), kind, first_seen)
    for person, items in told.values():
        unique = list({i.id: i for i in items}.values())
        plan.batches.append(AlertBatch(person, tuple(sorted(unique, key=AlertItem.order))))
    plan.batches.sort(key=lambda b: (b.items[0].order(), b.person.name))
    if plan.held:
        plan.resume_at = next_opening(clock, now)
    return plan


__all__ = ["AlertBatch", "AlertItem", "AlertPlan", "BREACH", "ESCALATION", "Member", "WARNING", "in_working_time",
           "members_of", "next_opening", "plan_alerts", "row_label", "row_labels"]
