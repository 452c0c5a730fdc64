"""Shared by the fuzz tests: the chosen profile, a hang guard, and value strategies."""

from __future__ import annotations

import datetime as dt
import enum
import signal
import string
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

import msgpack
import numpy as np
import pandas as pd
from hypothesis import seed, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.fuzz.conftest import PROFILE, SEED

F = TypeVar("F", bound=Callable[..., Any])


def FUZZ(test: F) -> F:
    """Apply the session's profile (and seed, for a replayed or random run) to a test."""
    test = settings.get_profile(PROFILE)(test)
    if SEED is not None:
        test = seed(SEED)(test)
    return test


def fewer(divisor: int) -> Callable[[F], F]:
    """The profile, with max_examples divided (for costly tests such as tracemalloc)."""

    def apply(test: F) -> F:
        profile = settings.get_profile(PROFILE)
        test = settings(profile, max_examples=max(20, profile.max_examples // divisor))(test)
        if SEED is not None:
            test = seed(SEED)(test)
        return test

    return apply


class Hang(BaseException):
    """Raised by time_limit; a BaseException, so the codec's ``except Exception`` lets it through."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail an example that runs longer than ``seconds`` (a hang), instead of waiting forever."""

    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- supported values -----------------------------------------------------------

NUMPY_DTYPES = [
    "|b1",
    "|i1",
    "|u1",
    "<i2",
    ">i2",
    "<i4",
    ">u4",
    "<i8",
    ">i8",
    "<u8",
    "<f2",
    ">f4",
    "<f8",
    ">f8",
    "<c8",
    ">c16",
    "<M8[D]",
    ">M8[ns]",
    "<M8[s]",
    "<m8[ms]",
    ">m8[us]",
    "<m8[3h]",
]


def numpy_dtypes() -> st.SearchStrategy[np.dtype[Any]]:
    return st.sampled_from(NUMPY_DTYPES).map(np.dtype)


def numpy_arrays() -> st.SearchStrategy[np.ndarray[Any, Any]]:
    def build(dtype: np.dtype[Any]) -> st.SearchStrategy[np.ndarray[Any, Any]]:
        base = hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
        return st.one_of(
            base, base.map(lambda a: a.T), base.map(lambda a: a[::-1] if a.ndim else a)
        )

    return numpy_dtypes().flatmap(build)


def numpy_scalars() -> st.SearchStrategy[Any]:
    native = [d for d in NUMPY_DTYPES if d[0] in "|<"]
    return st.sampled_from(native).map(np.dtype).flatmap(hnp.from_dtype)


@lru_cache
def _column(n: int) -> st.SearchStrategy[Any]:
    """One pandas column of length ``n``, of any supported kind."""
    ints = st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)
    floats = st.lists(st.floats(allow_nan=True), min_size=n, max_size=n)
    words = st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=n, max_size=n)
    zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"])
    stamps = st.lists(st.integers(0, 2 * 10**9), min_size=n, max_size=n)
    return st.one_of(
        ints.map(lambda v: pd.array(v, dtype="int64")),
        floats.map(lambda v: pd.array(v, dtype="float64")),
        st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.array(v, dtype=bool)),
        words.map(lambda v: pd.array(v, dtype="str")),
        words.map(lambda v: pd.array(v, dtype="string")),
        words.map(lambda v: np.array(v, dtype=object)),
        words.map(lambda v: pd.Categorical(v)),
        st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype="Int32")
        ),
        st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype="boolean")
        ),
        stamps.map(lambda v: pd.to_datetime(v, unit="s")),
        st.tuples(stamps, zones).map(
            lambda a: pd.to_datetime(a[0], unit="s", utc=True).tz_convert(a[1])
        ),
        ints.map(lambda v: pd.to_timedelta(v, unit="us")),
    )


def _labels() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.text(string.ascii_letters, max_size=4), st.integers(-3, 3))


@lru_cache
def _index(n: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(pd.RangeIndex(n)),
        st.integers(-5, 5).map(lambda start: pd.RangeIndex(start, start + 2 * n, 2)),
        st.lists(st.integers(-100, 100), min_size=n, max_size=n).map(pd.Index),
        st.lists(st.text(max_size=3), min_size=n, max_size=n).map(pd.Index),
        st.just(pd.date_range("2024-01-01", periods=n, freq="D", tz="Europe/Paris")),
        st.just(pd.MultiIndex.from_arrays([list(range(n)), ["x"] * n], names=["a", "b"])),
    )


@st.composite
def dataframes(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 4))
    names = draw(st.lists(_labels(), max_size=4))
    frame = pd.DataFrame({i: draw(_column(n)) for i in range(len(names))}, index=draw(_index(n)))
    frame.columns = pd.Index(names, dtype=object) if names else frame.columns
    if not isinstance(frame.index, pd.MultiIndex):
        frame.index = frame.index.rename(draw(_labels()))
    return frame


def series() -> st.SearchStrategy[pd.Series[Any]]:
    return st.integers(0, 4).flatmap(
        lambda n: st.builds(pd.Series, _column(n), index=_index(n), name=_labels())
    )


def pandas_indexes() -> st.SearchStrategy[Any]:
    return st.integers(0, 4).flatmap(_index)


def decimals() -> st.SearchStrategy[Decimal]:
    finite = st.builds(
        lambda digits, exp, neg: Decimal((int(neg), tuple(digits), exp)),
        st.lists(st.integers(0, 9), min_size=1, max_size=30),
        st.integers(-4000, 4000),
        st.booleans(),
    )
    return st.one_of(finite, st.sampled_from([Decimal("NaN"), Decimal("-Infinity"), Decimal("-0")]))


def times() -> st.SearchStrategy[dt.time]:
    return st.one_of(
        st.times(),
        st.times(timezones=st.timezones()),
        st.times(
            timezones=st.builds(
                dt.timezone, st.timedeltas(dt.timedelta(hours=-23), dt.timedelta(hours=23))
            )
        ),
    )


def hashable_leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=2**64, max_value=2**2000)
        | st.integers(max_value=-(2**63) - 1, min_value=-(2**2000)),
        st.floats(),  # NaN included: the comparisons below are by bytes
        st.text(),
        st.binary(),
        st.datetimes(),
        st.datetimes(timezones=st.timezones()),
        st.dates(),
        times(),
        st.timedeltas(),
        st.uuids(),
        decimals(),
    )


def leaves() -> st.SearchStrategy[Any]:
    # numpy scalars are hashable, but not set members or keys here: Decimal(1) ==
    # numpy.int8(1) raises TypeError, which breaks Hypothesis's own uniqueness checks.
    return st.one_of(hashable_leaves(), numpy_scalars(), numpy_arrays())


def hashables() -> st.SearchStrategy[Any]:
    return st.recursive(
        hashable_leaves(),
        lambda inner: st.one_of(st.tuples(inner, inner), st.frozensets(inner, max_size=3)),
        max_leaves=6,
    )


def values(with_pandas: bool = True) -> st.SearchStrategy[Any]:
    base = (
        st.one_of(leaves(), dataframes(), series(), pandas_indexes()) if with_pandas else leaves()
    )
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(st.one_of(st.text(max_size=5), hashables()), inner, max_size=4),
            st.sets(hashables(), max_size=4),
            st.frozensets(hashables(), max_size=4),
        ),
        max_leaves=10,
    )


# -- unsupported leaves, each with the name the error must use ---------------------


class Color(enum.Enum):
    RED = 1


class Opaque:
    """A user object the codec cannot know."""


UNSUPPORTED: list[tuple[Callable[[], Any], str]] = [
    (object, "object is not supported"),
    (lambda: 1 + 2j, "complex is not supported"),
    (lambda: Color.RED, "Color is not supported"),
    (Opaque, "Opaque is not supported"),
    (lambda: np.array([None], dtype=object), "numpy array of dtype object is not supported"),
    (lambda: np.array(["s"]), "numpy array of dtype <U1 is not supported"),
    (lambda: pd.Timestamp(0), "Timestamp is not supported"),
    (lambda: {1, 2}.__iter__(), "set_iterator is not supported"),
    (lambda: range(3), "range is not supported"),
    (lambda: uuid.uuid4().hex.encode().decode("ascii") + "\ud800", "str with a lone surrogate"),
    (lambda: msgpack, "module is not supported"),
]


# -- comparing decoded values exactly --------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Same type and same value all the way down; floats and arrays compared bit for bit."""
    if type(a) is not type(b):
        return False
    t = type(a)
    if t is list or t is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if t is dict:
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if t is set or t is frozenset:
        rest = list(b)
        for x in a:
            match = next((i for i, y in enumerate(rest) if same(x, y)), None)
            if match is None:
                return False
            rest.pop(match)
        return not rest
    if t is float:
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    if t is Decimal:
        return str(a) == str(b)
    if t is dt.datetime or t is dt.time:
        return (
            a.replace(tzinfo=None) == b.replace(tzinfo=None)
            and a.tzinfo == b.tzinfo
            and a.utcoffset() == b.utcoffset()
            and a.fold == b.fold
        )
    if t is np.ndarray:
        return a.dtype.str == b.dtype.str and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        return a.dtype.str == b.dtype.str and a.tobytes() == b.tobytes()
    if isinstance(a, (pd.DataFrame, pd.Series, pd.Index)):
        try:
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b, check_exact=True, check_freq=True)
                return (
                    list(a.dtypes) == list(b.dtypes)
                    and same(a.index, b.index)
                    and same(a.columns, b.columns)
                )
            if isinstance(a, pd.Series):
                pd.testing.assert_series_equal(a, b, check_exact=True, check_freq=True)
                return a.dtype == b.dtype and same(a.index, b.index)
            pd.testing.assert_index_equal(a, b, exact=True, check_exact=True)
            return a.names == b.names and getattr(a, "freq", None) == getattr(b, "freq", None)
        except AssertionError:
            return False
    return bool(a == b)


_EXACT = (
    type(None),
    bool,
    int,
    float,
    str,
    bytes,
    bytearray,
    list,
    dict,
    tuple,
    set,
    frozenset,
    dt.datetime,
    dt.date,
    dt.time,
    dt.timedelta,
    Decimal,
    uuid.UUID,
    np.ndarray,
    np.bool_,
    pd.DataFrame,
    pd.Series,
)
_FAMILIES = (np.integer, np.floating, np.complexfloating, np.datetime64, np.timedelta64, pd.Index)


def closed_types(value: Any) -> bool:
    """Whether a decoded value is built only from the codec's closed set of types.

    Looks inside pandas objects too: names, labels and object cells are
    decoded values themselves.
    """
    stack = [value]
    while stack:
        obj = stack.pop()
        t = type(obj)
        if t not in _EXACT and not isinstance(obj, _FAMILIES):
            return False
        if t is dict:
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif t in (list, tuple, set, frozenset):
            stack.extend(obj)
        elif t is np.ndarray and obj.dtype.kind not in "biufcmM":
            return False
        elif t is pd.DataFrame:
            stack.extend([obj.index, obj.columns])
            stack.extend(obj.iloc[:, i] for i in range(obj.shape[1]))
        elif t is pd.Series:
            stack.append(obj.index)
            stack.append(obj.name)
            if obj.dtype == object:
                stack.extend(obj.tolist())
            elif isinstance(obj.dtype, pd.CategoricalDtype):
                stack.append(obj.dtype.categories)
        elif isinstance(obj, pd.Index):
            stack.extend(obj.names)
            if isinstance(obj, pd.MultiIndex):
                stack.extend(obj.levels)
            elif obj.dtype == object:
                stack.extend(obj.tolist())
            elif isinstance(obj.dtype, pd.CategoricalDtype):
                stack.append(obj.dtype.categories)
    return True
