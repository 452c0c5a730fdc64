"""encode() on generated values: exact round trips, equal bytes for equal values,
and refusals that name the path of the unsupported leaf."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamlit_redis_state.base import codec
from streamlit_redis_state.base.errors import UnsupportedValue
from tests.fuzz.common import (
    FUZZ,
    UNSUPPORTED,
    dataframes,
    hashable_leaves,
    hashables,
    numpy_arrays,
    numpy_scalars,
    pandas_indexes,
    same,
    series,
    time_limit,
    values,
)

VALUES = values()
HASHABLES = hashables()
# Small supported values placed before the bad leaf, so it is not the first thing met.
FILLERS = st.lists(
    st.one_of(hashable_leaves(), st.lists(hashable_leaves(), max_size=2)), max_size=2
)


@FUZZ
@given(VALUES)
def test_round_trip_is_exact_and_bytes_are_stable(value: Any) -> None:
    with time_limit(20):
        blob = codec.encode(value)
        back = codec.decode(blob)
        assert same(back, value), f"{back!r:.300} != {value!r:.300}"
        assert codec.encode(back) == blob  # what is read back writes the same bytes
        assert codec.encode(copy.deepcopy(value)) == blob  # an equal copy too


@FUZZ
@given(st.one_of(dataframes(), series(), pandas_indexes(), numpy_arrays(), numpy_scalars()))
def test_numpy_and_pandas_values_round_trip_exactly(value: Any) -> None:
    with time_limit(20):
        blob = codec.encode(value)
        back = codec.decode(blob)
        assert same(back, value), f"{back!r:.300} != {value!r:.300}"
        assert codec.encode(back) == blob
        assert codec.encode(copy.deepcopy(value)) == blob


@FUZZ
@given(st.lists(HASHABLES, max_size=8), st.randoms(use_true_random=False))
def test_equal_sets_give_equal_bytes_whatever_the_insertion_order(
    members: list[Any], rnd: random.Random
) -> None:
    for kind in (set, frozenset):
        try:
            a = kind(members)
        except TypeError:  # e.g. a signalling NaN Decimal is not hashable
            return
        # The same member objects, inserted in another order (equal members of
        # different types, like False and Decimal(0), collapse to whichever came
        # first, so the members must be the set's own).
        shuffled = list(a)
        rnd.shuffle(shuffled)
        b = kind(shuffled)
        assert codec.encode(a) == codec.encode(b)
        assert codec.encode({"k": (a,)}) == codec.encode({"k": (b,)})


@FUZZ
@given(st.binary(max_size=64))
def test_bytearray_value_comes_back_as_bytearray(data: bytes) -> None:
    back = codec.decode(codec.encode(bytearray(data)))
    assert type(back) is bytearray and back == data


@st.composite
def with_unsupported_leaf(draw: st.DrawFn) -> tuple[Any, str]:
    """A value with one unsupported leaf somewhere, and the message the codec must give."""
    make, reason = draw(st.sampled_from(UNSUPPORTED))
    value: Any = make()
    steps: list[str] = []
    for kind in draw(st.lists(st.sampled_from(["list", "tuple", "dict"]), max_size=6)):
        before = draw(FILLERS)
        if kind == "dict":
            key = draw(st.text("abcdefgh", min_size=1, max_size=5))
            filler = {f"_{i}": v for i, v in enumerate(before)}
            value = {**filler, key: value}
            steps.append(f"[{key!r}]")
        else:
            items = [*before, value]
            value = items if kind == "list" else tuple(items)
            steps.append(f"[{len(before)}]")
    return value, "value" + "".join(reversed(steps)) + ": " + reason


@FUZZ
@given(with_unsupported_leaf())
def test_unsupported_leaf_is_refused_with_its_path(case: tuple[Any, str]) -> None:
    value, expected = case
    with time_limit(20), pytest.raises(UnsupportedValue) as err:
        codec.encode(value)
    assert str(err.value).startswith(expected), str(err.value)
