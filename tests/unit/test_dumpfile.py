"""The dump file: exact bytes in, exact bytes out, and anything doubtful refused whole."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from streamlit_redis_state.base import codec
from streamlit_redis_state.cli.dumpfile import FORMAT, DumpedKey, DumpError, parse, render

KEYS = [
    DumpedKey("count", "value", (codec.encode(3),)),
    DumpedKey("chat", "list", (codec.encode("hi"), codec.encode({"b": (1,)})), ttl_ms=59_000),
    DumpedKey("ünï\ncode", "value", (codec.encode({1, 2}),), ttl_ms=1),
]


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render("app", KEYS))
    doc.update(changes)
    return doc


def test_render_then_parse_gives_back_every_byte() -> None:
    text = render("app", KEYS, now=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    dump = parse(text)
    assert dump.namespace == "app" and dump.created == "2026-01-02T03:04:05Z"
    assert list(dump.keys) == KEYS
    header = json.loads(text)
    assert (header["format"], header["version"]) == (FORMAT, 1)
    assert header["keys"][1]["items"][0] == base64.b64encode(codec.encode("hi")).decode()


def entry(**fields: Any) -> dict[str, Any]:
    base = {
        "key": "k",
        "kind": "value",
        "ttl_ms": None,
        "value": base64.b64encode(codec.encode(1)).decode(),
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        (render("app", KEYS)[:-40], "not valid JSON"),  # truncated
        ("[]", "not a dump file"),
        (json.dumps(document(format="other")), "not a dump file"),
        (json.dumps(document(version=2)), "version 2 is not one this version reads"),
        (json.dumps(document(keys={})), '"keys" \\(an array\\)'),
        (json.dumps(document(keys=[entry(), entry()])), "'k' appears twice"),
        (json.dumps(document(keys=[entry(key="")])), "non-empty"),
        (json.dumps(document(keys=[entry(key="__dunder__")])), "reserved"),
        (json.dumps(document(keys=[entry(kind="hash")])), 'kind must be "value" or "list"'),
        (json.dumps(document(keys=[entry(ttl_ms=0)])), "ttl_ms must be a positive integer"),
        (json.dumps(document(keys=[entry(ttl_ms=1.5)])), "ttl_ms must be a positive integer"),
        (json.dumps(document(keys=[entry(value="***")])), "not base64"),
        (
            json.dumps(document(keys=[entry(value=base64.b64encode(b"hello").decode())])),
            "not a value this version of streamlit_redis_state reads",
        ),
        (json.dumps(document(keys=[entry(kind="list", items=[])])), "non-empty array of items"),
        (
            json.dumps(
                document(
                    keys=[entry(kind="list", items=[base64.b64encode(b"\xc1\x01\xc1").decode()])]
                )
            ),
            r"items\[0\]: not a value",
        ),
    ],
)
def test_a_doubtful_file_is_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(DumpError, match=message):
        parse(text)


def test_values_over_the_configured_limit_are_refused() -> None:
    big = DumpedKey("big", "value", (codec.encode("x" * 1000),))
    with pytest.raises(DumpError, match="over max_value_bytes"):
        parse(render("app", [big]), max_value_bytes=500)
    long = DumpedKey("long", "list", tuple(codec.encode("x" * 100) for _ in range(10)))
    with pytest.raises(DumpError, match="over max_value_bytes"):
        parse(render("app", [long]), max_value_bytes=500)
    assert parse(render("app", [big, long]), max_value_bytes=2000).keys == (big, long)
