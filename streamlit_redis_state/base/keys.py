"""State keys and presence names: what is valid, and where each lives in Redis.

Layout of one namespace ``ns``. Every name shares the ``{ns}`` hash tag, so
each script touches one hash slot and also runs on Redis Cluster::

    srs:{ns}:meta         hash: "\0epoch" -> random id set by the first change
                          after the data was created (a new epoch means the
                          data was lost); "\0seq" -> the namespace sequence
                          number; <key> -> the key's version. One key, so a
                          restart, FLUSHDB or eviction loses all of it or none
    srs:{ns}:v:<key>      the value, a codec blob
    srs:{ns}:l:<key>      a list grown with append: one codec blob per item
    srs:{ns}:lbase        hash  <key> -> the version that created its list
    srs:{ns}:keys         set of the keys that hold a value or a list
    srs:{ns}:ttl          sorted set: key -> when its lifetime ends (Redis's
                          clock, ms); the tick deletes what is due
    srs:{ns}:procs        sorted set: process id -> when its record lapses
    srs:{ns}:proc:<id>    a process's status record (JSON), with a lifetime
    srs:{ns}:req:<id>     a change's outcome, kept briefly so a re-sent
                          request replays it instead of applying it twice
    srs:{ns}:lock:<key>   lock token, with a lease (PX)
    srs:{ns}:p:<group>    presence: sorted set of member ids scored by expiry
    srs:{ns}:pn:<group>   presence: hash of member id -> display name
    srs:{ns}:events       the pub/sub channel of notifications

A presence group is versioned and notified like a key, under the pseudo key
``"\\x00presence:<group>"``; the NUL keeps it apart from every state key.
See docs/internals.md for the whole picture.
"""

from __future__ import annotations

from .errors import InvalidKey

MAX_KEY_LENGTH = 1024
MAX_GROUP_LENGTH = 200
MAX_NAME_LENGTH = 200

PRESENCE_PREFIX = "\x00presence:"
#: Fields of the meta hash beside the keys' versions (NUL keeps them apart).
SEQ_FIELD = "\x00seq"
EPOCH_FIELD = "\x00epoch"


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid state key, else raise a clear error."""
    if not isinstance(key, str):
        raise TypeError(f"server_state keys must be str, got {type(key).__name__}: {key!r:.60}")
    if not key:
        raise InvalidKey("server_state keys must be non-empty strings")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(
            f"server_state keys are at most {MAX_KEY_LENGTH} characters, got {len(key)}"
        )
    if key.startswith("__") and key.endswith("__"):
        raise InvalidKey(f"{key!r} is reserved: names like __x__ are Python's own")
    if "\x00" in key:
        raise InvalidKey("server_state keys must not contain NUL characters (reserved)")
    if not _is_utf8(key):
        raise InvalidKey(f"server_state keys must be valid Unicode text, got {key!r:.60}")
    return key


def _is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (it has no lone surrogate), as Redis names must."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def missing_message(key: str) -> str:
    """What a read of a missing key says: how to initialise it."""
    return (
        f"server_state has no key {key!r}. Initialise it first, for example "
        f"`server_state.setdefault({key!r}, ...)` or "
        f"`if {key!r} not in server_state: server_state[{key!r}] = ...`"
    )


def check_group(group: object) -> str:
    """Return ``group`` if it is a valid presence group name, else raise ``ValueError``."""
    if (
        not isinstance(group, str)
        or not group
        or len(group) > MAX_GROUP_LENGTH
        or "\x00" in group
        or not _is_utf8(group)
    ):
        raise ValueError(
            f"presence groups are non-empty str of at most {MAX_GROUP_LENGTH} "
            f"characters, got {group!r:.80}"
        )
    return group


def check_name(name: object) -> str:
    """Return ``name`` if it is a valid presence display name, else raise ``ValueError``."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > MAX_NAME_LENGTH
        or not _is_utf8(name)
    ):
        raise ValueError(
            f"presence names are non-empty str of at most {MAX_NAME_LENGTH} "
            f"characters, got {name!r:.80}"
        )
    return name


def presence_field(group: str) -> str:
    """The pseudo key whose version tracks a presence group."""
    return PRESENCE_PREFIX + group


def presence_group(field: str) -> str | None:
    """The group a pseudo key stands for, or ``None`` for a state key."""
    return field[len(PRESENCE_PREFIX) :] if field.startswith(PRESENCE_PREFIX) else None


class Keyspace:
    """The Redis names of one namespace (see the module docstring)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.prefix = f"srs:{{{namespace}}}:"
        self.meta = self.prefix + "meta"
        self.keys = self.prefix + "keys"
        self.list_bases = self.prefix + "lbase"
        self.expiries = self.prefix + "ttl"
        self.processes = self.prefix + "procs"
        self.channel = self.prefix + "events"

    def value(self, key: str) -> str:
        return self.prefix + "v:" + key

    def list(self, key: str) -> str:
        return self.prefix + "l:" + key

    def request(self, request_id: str) -> str:
        return self.prefix + "req:" + request_id

    def process(self, process_id: str) -> str:
        return self.prefix + "proc:" + process_id

    def lock(self, key: str) -> str:
        return self.prefix + "lock:" + key

    def presence_members(self, group: str) -> str:
        return self.prefix + "p:" + group

    def presence_names(self, group: str) -> str:
        return self.prefix + "pn:" + group
