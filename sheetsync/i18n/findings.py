"""Findings in words: the edge renders what the core found (a code and parameters) in the
template's language.

The message of a finding with code ``c`` is the catalogue entry ``findings.<c>``. For the codes of
a template's rules, :func:`catalogue_for` fills those entries from, in order: the rule's own
wording in the template file (``message = "…"``), the language's ``messages/findings.toml``, the
rule kind's generic wording (``kinds.<kind>[.<outcome>]``).

Parameters are plain values (formatted by :meth:`Catalogue.value`), tuples (lists), or
:class:`~sheetsync.core.model.Phrase` (words inside words). In a pattern, ``{x:quoted}`` quotes a
value (each item of a list), ``{x:or}`` / ``{x:quoted_or}`` join a list as alternatives.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..core.model import Duration, Finding, Phrase
from ..core.rules import KINDS, all_codes
from ..errors import TemplateError
from .catalogue import Catalogue, load_catalogue, with_overrides

if TYPE_CHECKING:
    from ..core.template import Template

def catalogue_for(template: "Template") -> Catalogue:
    """The template's language, with the template file's own wordings: ``[messages]`` entries whose
    key is a catalogue key, and each rule's ``message`` fields."""
    cat = with_overrides(load_catalogue(template.language),  # [messages.findings] "promo.unsigned" = "…"
                         {k: v for k, v in template.messages.items() if isinstance(v, Mapping)})
    own: dict[str, Any] = {}
    for code, (rule, outcome) in all_codes(template).items():
        key = f"findings.{code}"
        if outcome in rule.messages:
            own[key] = rule.messages[outcome]
        elif not cat.has(key):
            kind_key = KINDS[rule.kind].message_key(outcome)
            if not cat.has(kind_key):
                raise TemplateError("core.rule.no_message", file=template.path.name, rule=rule.code, code=code,
                                    key=key)
            own[key] = cat.raw(kind_key)
    return Catalogue(cat.language, {**cat.entries, **own}) if own else cat


def message_key(finding: Finding, cat: Catalogue) -> str | None:
    key = f"findings.{finding.code}"
    if cat.has(key):
        return key
    if finding.tab_id and finding.code.startswith(finding.tab_id + "."):
        generic = f"findings.{finding.code[len(finding.tab_id) + 1:]}"  # "inventory.min" -> "findings.min"
        if cat.has(generic):
            return generic
    return None


def render_message(finding: Finding, cat: Catalogue) -> str:
    """What a person reads about ``finding``. A finding that already carries words (kept from an
    earlier run, or made by code that still words its own) keeps them."""
    if finding.message:
        return finding.message
    key = message_key(finding, cat)
    if key is None:  # a code nobody worded: say at least which one, never crash at the edge
        return cat.text("findings.unworded", code=finding.code)
    return render(cat, cat.raw(key), finding.params)


def render(cat: Catalogue, pattern: str, params: Mapping[str, Any]) -> str:
    return cat.format(pattern, **{k: _Param(cat, v) for k, v in params.items()})


def with_messages(findings: Iterable[Finding], cat: Catalogue) -> list[Finding]:
    """Every finding with its ``message`` filled in (what notes, 问题清单 and ``check`` show).
    The words of a code and parameters rendered before in this catalogue are taken as they were
    (a process that runs every couple of minutes meets the same findings run after run)."""
    words = _words_of(cat)
    out = []
    for f in findings:
        if f.message:
            out.append(f)
            continue
        try:
            key: Any = (f.code, f.tab_id, _frozen_params(f.params))
            message = words.get(key)
        except TypeError:  # a parameter that is not a plain value: rendered every time
            key, message = None, None
        if message is None:
            message = render_message(f, cat)
            if key is not None:
                words[key] = message
        out.append(_worded(f, message))
    if len(words) > _WORDS_MAX:
        words.clear()
    return out


# the words rendered in the last catalogue used: (its entries, (code, tab id, parameters) -> message)
_WORDS: list[tuple[dict[str, Any], dict[Any, str]]] = []
_WORDS_MAX = 200_000
_PLAIN = frozenset({str, int, float, bool, type(None), datetime, date, time, timedelta, Duration})


def _words_of(cat: Catalogue) -> dict[Any, str]:
    if _WORDS and _WORDS[0][0] == cat.entries:  # a copy: compared, never trusted by identity
        return _WORDS[0][1]
    _WORDS[:] = [(dict(cat.entries), {})]
    return _WORDS[0][1]


def _frozen(value: Any) -> Any:
    """A value as a key that tells apart whatever renders differently: its type with it (1, 1.0
    and True are equal in Python), a phrase with its parameters (which a phrase's own equality
    leaves out). Anything else raises TypeError."""
    kind = type(value)
    if kind is datetime or kind is time:  # equal moments in other time zones read differently
        return kind, value, value.tzinfo
    if kind in _PLAIN:
        return kind, value
    if kind is tuple or kind is list:
        return kind, tuple(map(_frozen, value))
    if kind is Phrase:
        return kind, value.key, _frozen_params(value.params)
    raise TypeError(kind.__name__)


def _frozen_params(params: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple((name, _frozen(v)) for name, v in params.items())


_SLOTS = Finding.__slots__
_set = object.__setattr__


def _worded(f: Finding, message: str) -> Finding:
    """``replace(f, message=message)`` without going through ``__init__`` (a third of the time,
    for the many thousand findings of every run)."""
    new = Finding.__new__(Finding)
    for name in _SLOTS:
        _set(new, name, getattr(f, name))
    _set(new, "message", message)
    return new


def where(finding: Finding, cat: Catalogue) -> str:
    """How a message names a place: 「推广确认单」第3行「声明库存」 / 'Promotions' row 3, 'Declared stock'."""
    if not finding.row:
        return cat.text("findings.where.tab", tab=finding.tab)
    if not finding.column:
        return cat.text("findings.where.row", tab=finding.tab, row=finding.row)
    return cat.text("findings.where.cell", tab=finding.tab, row=finding.row, column=finding.column)


def note_prefix(cat: Catalogue) -> str:
    """The first words of every note sheetsync writes, in the catalogue's language (always
    recognisable by ``core.model.is_own_note``)."""
    return str(cat.raw("findings.note_prefix"))


class _Param:
    """A parameter on its way into a pattern: formats itself in the catalogue's language."""

    __slots__ = ("cat", "value")

    def __init__(self, cat: Catalogue, value: Any) -> None:
        self.cat = cat
        self.value = value

    def _one(self, value: Any) -> str:
        if isinstance(value, Phrase):
            return render(self.cat, self.cat.raw(value.key), value.params)
        return self.cat.value(value)

    def _items(self) -> list[Any]:
        v = self.value
        return list(v) if isinstance(v, (tuple, list)) else [v]

    def __str__(self) -> str:
        if isinstance(self.value, (tuple, list)):
            return self.cat.join(self._one(v) for v in self.value)
        return self._one(self.value)

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        if spec == "quoted":
            return self.cat.join(self.cat.quote(self._one(v)) for v in self._items())
        if spec == "or":
            return self.cat.text("findings.part.or_sep").join(self._one(v) for v in self._items())
        if spec == "quoted_or":
            return self.cat.text("findings.part.or_sep").join(self.cat.quote(self._one(v)) for v in self._items())
        return format(self.value, spec)
