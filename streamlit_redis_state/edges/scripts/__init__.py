"""The server-side Lua scripts, one purpose each, shipped as ``.lua`` files.

Each file opens with a header naming its KEYS, ARGV and what it returns.
Scripts that change a namespace (and ``read`` and ``read_many``, which delete
for everyone a key Redis lost) are loaded with ``_prelude.lua`` in front,
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
        "expire",
        "tick",
        "read_many",
    }
)
#: Scripts that only read or touch one lock key.
PLAIN = frozenset({"presence_read", "lock_acquire", "lock_extend"})


PUBLISH_COMMANDS = ("PUBLISH", "SPUBLISH")


@cache
def source(name: str, publish: str = "PUBLISH") -> str:
    """The text Redis runs for the script ``name``.

    ``publish`` is the command notifications go out with: ``SPUBLISH`` on a
    Redis Cluster keeps them on the shard that owns the namespace's slot.
    """
    if name not in WITH_PRELUDE and name not in PLAIN:
        raise KeyError(f"no script named {name!r}")
    if publish not in PUBLISH_COMMANDS:
        raise ValueError(f"publish must be one of {PUBLISH_COMMANDS}, got {publish!r}")
    here = resources.files(__name__)
    body = here.joinpath(f"{name}.lua").read_text("utf-8")
    if name not in WITH_PRELUDE:
        return body
    prelude = here.joinpath("_prelude.lua").read_text("utf-8")
    return prelude.replace("local PUBLISH = 'PUBLISH'", f"local PUBLISH = '{publish}'") + body


__all__ = ["PLAIN", "PUBLISH_COMMANDS", "WITH_PRELUDE", "source"]
