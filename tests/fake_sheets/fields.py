"""Google field masks: ``sheets(properties(sheetId,title),data.rowData.values(note))``.

Parsed into a tree ``{name: subtree}`` where a subtree of ``None`` means "everything below".
Used both for partial responses (the ``fields`` query parameter) and for the ``fields`` of
update requests (``userEnteredFormat.backgroundColorStyle,note``).
"""

from __future__ import annotations

import re
from typing import Any

Tree = dict[str, Any]  # name -> Tree | None

_TOKEN = re.compile(r"\s*([A-Za-z0-9_*]+|[(),.])")


class MaskError(ValueError):
    pass


def _merge(into: Tree, name: str, sub: Tree | None) -> None:
    if name in into and into[name] is None:
        return
    if sub is None or name not in into:
        into[name] = sub
        return
    for key, value in sub.items():
        _merge(into[name], key, value)


def parse_mask(mask: str) -> Tree:
    """'a.b,c(d,e)' -> {'a': {'b': None}, 'c': {'d': None, 'e': None}}."""
    tokens: list[str] = []
    pos = 0
    mask = mask.strip()
    while pos < len(mask):
        m = _TOKEN.match(mask, pos)
        if not m:
            raise MaskError(f"invalid character in field mask at {pos}: {mask!r}")
        tokens.append(m.group(1))
        pos = m.end()
    tree, rest = _parse_list(tokens, 0)
    if rest != len(tokens):
        raise MaskError(f"unbalanced field mask: {mask!r}")
    return tree


def _parse_list(tokens: list[str], i: int) -> tuple[Tree, int]:
    tree: Tree = {}
    while True:
        path = []
        if i >= len(tokens) or not re.fullmatch(r"[A-Za-z0-9_*]+", tokens[i]):
            raise MaskError(f"expected a field name at token {i}: {' '.join(tokens)!r}")
        path.append(tokens[i])
        i += 1
        while i < len(tokens) and tokens[i] == ".":
            if i + 1 >= len(tokens) or not re.fullmatch(r"[A-Za-z0-9_*]+", tokens[i + 1]):
                raise MaskError("a '.' must be followed by a field name")
            path.append(tokens[i + 1])
            i += 2
        sub: Tree | None = None
        if i < len(tokens) and tokens[i] == "(":
            sub, i = _parse_list(tokens, i + 1)
            if i >= len(tokens) or tokens[i] != ")":
                raise MaskError("missing ')' in field mask")
            i += 1
        for name in reversed(path[1:]):
            sub = {name: sub}
        _merge(tree, path[0], sub)
        if i < len(tokens) and tokens[i] == ",":
            i += 1
            continue
        return tree, i


def paths(tree: Tree | None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Flatten a tree to the dotted paths it selects."""
    if tree is None:
        return [prefix]
    out: list[tuple[str, ...]] = []
    for name, sub in tree.items():
        out += paths(sub, prefix + (name,))
    return out


def select(value: Any, tree: Tree | None) -> Any:
    """Keep only what the mask selects (lists are walked element by element)."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in tree:
        return value
    return {k: select(v, tree[k]) for k, v in value.items() if k in tree}


def subtree(tree: Tree | None, *names: str) -> Tree | None | bool:
    """The part of ``tree`` under ``names``: a Tree, None (= everything) or False (not asked)."""
    for name in names:
        if tree is None:
            return None
        if "*" in tree:
            return None
        if name not in tree:
            return False
        tree = tree[name]
    return tree
