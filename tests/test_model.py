"""The model's small value types that everything else leans on."""

from __future__ import annotations

import pickle
from datetime import datetime
from typing import Any, Callable

import pytest

from sheetsync.core.model import Finding, Params, Phrase

AS_DICT = {"tab": "客服台账", "column": "首次响应时间", "limit": 2, "deadline": datetime(2026, 11, 20, 12),
           "missing": ("客服",), "phrase": Phrase("findings.part.unless_filled", {"column": "客服"})}

# what code does with a finding's parameters: each must read a Params as the dict it stands for
READS: list[tuple[str, Callable[[Any], Any]]] = [
    ("equal to the dict", lambda p: p == AS_DICT),
    ("the dict equal to it", lambda p: AS_DICT == p),
    ("not equal to another", lambda p: p != {**AS_DICT, "limit": 3}),
    ("dict()", dict),
    ("** into a call", lambda p: (lambda **kw: kw)(**p)),
    ("items in order", lambda p: list(p.items())),
    ("items twice", lambda p: (list(p.items()), list(p.items()))),
    ("len of items", lambda p: len(p.items())),
    ("a pair in items", lambda p: ("limit", 2) in p.items()),
    ("keys", lambda p: list(p.keys())),
    ("values", lambda p: list(p.values())),
    ("get", lambda p: (p.get("limit"), p.get("nothing"), p.get("nothing", 0))),
    ("in", lambda p: ("deadline" in p, "nothing" in p)),
    ("[]", lambda p: p["missing"]),
    ("len", len),
    ("repr", repr),
    ("pickled and back", lambda p: pickle.loads(pickle.dumps(p)) == AS_DICT),
]


@pytest.mark.parametrize(("what", "read"), READS, ids=[w for w, _ in READS])
def test_params_read_like_the_dict_they_stand_for(what: str, read: Callable[[Any], Any]) -> None:
    assert read(Params.of(AS_DICT)) == read(dict(AS_DICT))


def test_params_refuse_what_a_dict_would() -> None:
    params = Params.of(AS_DICT)
    with pytest.raises(KeyError, match="nothing"):
        params["nothing"]
    with pytest.raises(TypeError):
        params["limit"] = 3  # type: ignore[index]
    with pytest.raises(ValueError, match="2 names, 1 values"):
        Params(("a", "b"), (1,))


def test_params_of_equal_names_share_one_tuple_and_survive_a_pickle_of_many() -> None:
    a, b = Params.of({"x": 1, "y": 2}), Params.of({"x": 3, "y": 4})
    assert a._names is b._names and Params.of(a) is a
    findings = [Finding("t", r, "c", 1, None, "code", "", params=Params.of({"x": r, "y": "v"})) for r in range(50)]
    back = pickle.loads(pickle.dumps(findings))
    assert [dict(f.params) for f in back] == [{"x": r, "y": "v"} for r in range(50)]
    assert len({id(f.params._names) for f in back}) == 1  # one tuple of names in the pickle, not fifty
