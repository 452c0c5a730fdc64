"""The server-side Lua scripts, one purpose each, shipped as ``.lua`` files.

Each file opens with a header naming its KEYS, ARGV and what it returns.
Scripts that change a namespace (and ``read``, which deletes for everyone a
key Redis lost) are loaded with ``_prelude.lua`` in front,
which holds what they share: the epoch, the version bump and the
notification (written once, so the wire format has one author).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

#: Scripts that change state, and so start with the prelude.
WITH_PRELUDE = frozenset(
    {
        "set",
        "set_default",
        "delete",
        "touch",
        "append",
        "convert",
        "presence_update",
        "lock_release",
        "read",
    }
)
#: Scripts that only read or touch one lock key.
PLAIN = frozenset({"presence_read", "lock_acquire", "lock_extend"})


@cache
def source(name: str) -> str:
    """The text Redis runs for the script ``name``."""
    if name not in WITH_PRELUDE and name not in PLAIN:
        raise KeyError(f"no script named {name!r}")
    here = resources.files(__name__)
    body = here.joinpath(f"{name}.lua").read_text("utf-8")
    if name in WITH_PRELUDE:
        return here.joinpath("_prelude.lua").read_text("utf-8") + body
    return body


__all__ = ["PLAIN", "WITH_PRELUDE", "source"]
