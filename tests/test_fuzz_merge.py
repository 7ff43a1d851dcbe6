"""Property test of YAML merge keys against an independent model of their meaning: a key written twice in one
mapping is an error wherever it is written (in the mapping itself or in a mapping merged in, named by an anchor or
written inline), and otherwise a key written in the mapping wins over the merged ones, and an earlier merged mapping
wins over a later one (YAML's merge key type)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cnncalc.errors import CnnCalcError
from cnncalc.source import parse_yaml

SCALE = int(os.environ.get("CNNCALC_FUZZ_SCALE", "1"))
KEYS = st.sampled_from(["out", "kernel", "stride"])
PAIRS = st.lists(st.tuples(KEYS, st.integers(1, 9)), max_size=4)


def _flow(pairs: list) -> str:
    return "{" + ", ".join(f"{key}: {value}" for key, value in pairs) + "}"


def _has_duplicate(pairs: list) -> bool:
    keys = [key for key, _ in pairs]
    return len(keys) != len(set(keys))


@settings(max_examples=300 * SCALE, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(sources=st.lists(st.tuples(PAIRS, st.booleans()), min_size=1, max_size=3), explicit=PAIRS)
@example(sources=[([("out", 4), ("kernel", 1)], True)], explicit=[("out", 5), ("out", 6)])
@example(sources=[([("out", 4), ("out", 6)], False)], explicit=[])
def test_merge_keys_follow_yaml_and_refuse_duplicates(sources, explicit):
    """``sources``: the merged mappings, each anchored above (True) or written inline (False)."""
    anchors = [f"a{index}: &s{index} {_flow(pairs)}" for index, (pairs, anchored) in enumerate(sources) if anchored]
    merged = [f"*s{index}" if anchored else _flow(pairs) for index, (pairs, anchored) in enumerate(sources)]
    target = _flow([("<<", "[" + ", ".join(merged) + "]"), *explicit])
    text = "\n".join([*anchors, f"target: {target}", ""])
    if any(_has_duplicate(pairs) for pairs, _ in sources) or _has_duplicate(explicit):
        with pytest.raises(CnnCalcError, match="duplicate key"):
            parse_yaml(text, "t.yaml")
        return
    expected: dict = {}
    for pairs, _ in reversed(sources):
        expected.update(pairs)
    expected.update(explicit)
    assert dict(parse_yaml(text, "t.yaml")["target"]) == expected
