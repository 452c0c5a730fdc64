"""The Redis store: key layout, the server-side scripts, and error mapping.

Layout of one namespace ``ns`` (all names share the ``{ns}`` hash tag, so
every script touches one hash slot and also runs on Redis Cluster)::

    srs:{ns}:v:<key>   the value, a codec blob
    srs:{ns}:ver       hash  <key> -> version, bumped by every change
    srs:{ns}:keys      set of the keys that hold a value
    srs:{ns}:seq       namespace sequence number, bumped by every change
    srs:{ns}:epoch     random id set by the first write after the data was
                       created; a new epoch means the data was lost (a Redis
                       restart without persistence), so versions restart
    srs:{ns}:lock:<key>  lock token, with a lease (PX)
    srs:{ns}:events    pub/sub channel

Why scripts: every change is one atomic step that compares bytes, stores,
bumps the version and sequence, and publishes a small notification. The value
itself is never published, so a slow subscriber is never disconnected by the
output buffer limit for carrying values, and a notification is never larger
than a key name.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from .config import Settings
from .errors import LockLost, ServerStateError, StateUnavailable

logger = logging.getLogger("streamlit_redis_state")

# Result codes of the change script.
_FENCED = -1

_CHANGE = """
-- KEYS: value, versions, keys, seq, epoch, lock, list, listbase
-- ARGV: field, op, blob, origin, quiet, epoch_candidate, channel, token, items...
-- op: set | add (set if absent) | del | touch (notify only)
--     | append (items; ARGV[3] = cap: past 2*cap items, keep the newest cap)
--     | convert (a plain list value, ARGV[3], becomes the list of items)
-- Returns {code, version, epoch, extra}: code 1 changed, 0 no change,
-- -1 fenced (lock lost), 2 append found a plain value (convert first),
-- 3 convert found the value changed (read again).
if ARGV[8] ~= '' and redis.call('GET', KEYS[6]) ~= ARGV[8] then
  return {-1, 0, ''}
end
local epoch = redis.call('GET', KEYS[5])
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', KEYS[5], epoch)
end
local op = ARGV[2]
local function current()
  return tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
end
local is_list = false
local extra = false
local appended = 0
if op == 'set' or op == 'add' then
  -- a key is a plain value or a list, never both: look for a list only
  -- when there is no value
  local old = redis.call('GET', KEYS[1])
  if old == ARGV[3] or (op == 'add' and old) then
    return {0, current(), epoch}
  end
  if not old then
    is_list = redis.call('EXISTS', KEYS[7]) == 1
    if op == 'add' and is_list then
      return {0, current(), epoch}
    end
    if is_list then
      redis.call('DEL', KEYS[7])
      redis.call('HDEL', KEYS[8], ARGV[1])
    end
    redis.call('SADD', KEYS[3], ARGV[1])
  end
  redis.call('SET', KEYS[1], ARGV[3])
elseif op == 'del' then
  is_list = redis.call('EXISTS', KEYS[7]) == 1
  if is_list then
    extra = redis.call('LRANGE', KEYS[7], 0, -1)
    redis.call('DEL', KEYS[7])
    redis.call('HDEL', KEYS[8], ARGV[1])
  else
    extra = redis.call('GET', KEYS[1])
    if not extra then
      return {0, current(), epoch}
    end
    redis.call('DEL', KEYS[1])
  end
  redis.call('SREM', KEYS[3], ARGV[1])
elseif op == 'append' or op == 'convert' then
  is_list = redis.call('EXISTS', KEYS[7]) == 1
  if op == 'append' and redis.call('EXISTS', KEYS[1]) == 1 then
    return {2, current(), epoch}
  end
  if op == 'convert' then
    if redis.call('GET', KEYS[1]) ~= ARGV[3] then
      return {3, current(), epoch}
    end
    redis.call('DEL', KEYS[1])
  end
  if not is_list then
    -- a new list: remember the version that created it, so a reader holding
    -- an older list never splices new items onto it
    redis.call('HSET', KEYS[8], ARGV[1], current() + 1)
  end
  for i = 9, #ARGV do
    redis.call('RPUSH', KEYS[7], ARGV[i])
  end
  appended = #ARGV - 8
  extra = redis.call('LLEN', KEYS[7])
  local cap = tonumber(ARGV[3]) or 0
  if op == 'append' and cap > 0 and extra > 2 * cap then
    -- keep the newest `cap`; the list starts anew for readers (full refetch)
    redis.call('LTRIM', KEYS[7], -cap, -1)
    redis.call('HSET', KEYS[8], ARGV[1], current() + 1)
    extra = cap
    is_list = false
  end
  redis.call('SADD', KEYS[3], ARGV[1])
end
local ver = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local seq = redis.call('INCR', KEYS[4])
local event = {k = ARGV[1], v = ver, s = seq, o = ARGV[4], q = tonumber(ARGV[5]), e = epoch,
               f = (op == 'touch') and 1 or 0}
if op == 'append' and is_list then
  event['a'] = appended
  event['n'] = extra
end
redis.call('PUBLISH', ARGV[7], cjson.encode(event))
if extra then
  return {1, ver, epoch, extra}
end
return {1, ver, epoch}
"""

# KEYS: value, list, versions, epoch, listbase; ARGV: field, first list index
# Returns {blob or false, items from the index, version, epoch, list base, list length}
_READ = """
local items = redis.call('LRANGE', KEYS[2], tonumber(ARGV[2]), -1)
return {redis.call('GET', KEYS[1]), items,
        tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0'),
        redis.call('GET', KEYS[4]) or '',
        tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or '0'),
        redis.call('LLEN', KEYS[2])}
"""

# Presence: a sorted set of member ids scored by expiry (Redis's own clock, so
# replicas' clocks never matter) and a hash of their display names. Every
# membership change bumps the version of the group's pseudo key and publishes
# like a value change, so reruns, the cache and resync need nothing new.
# KEYS: zset, names, versions, seq, epoch
# ARGV: field, channel, origin, epoch_candidate, ttl_ms, op(join|beat|leave|read), ...
_PRESENCE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[6]
if op == 'read' then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
  local out = {tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0'),
               redis.call('GET', KEYS[5]) or ''}
  for i, id in ipairs(ids) do
    out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
  end
  return out
end
local epoch = redis.call('GET', KEYS[5])
if not epoch then
  epoch = ARGV[4]
  redis.call('SET', KEYS[5], epoch)
end
local ttl = tonumber(ARGV[5])
local changed = false
if op == 'join' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[7])
  if (not score) or tonumber(score) <= now
     or redis.call('HGET', KEYS[2], ARGV[7]) ~= ARGV[8] then
    changed = true
  end
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[7])
  redis.call('HSET', KEYS[2], ARGV[7], ARGV[8])
elseif op == 'beat' then
  -- ARGV[7..]: pairs of member id, name
  for i = 7, #ARGV, 2 do
    local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if (not score) or tonumber(score) <= now then
      changed = true
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    end
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
  end
elseif op == 'leave' then
  if redis.call('ZREM', KEYS[1], ARGV[7]) == 1 then
    changed = true
  end
  redis.call('HDEL', KEYS[2], ARGV[7])
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i, id in ipairs(dead) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  changed = true
end
if not changed then
  return 0
end
local ver = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
local seq = redis.call('INCR', KEYS[4])
redis.call('PUBLISH', ARGV[2], cjson.encode({
  k = ARGV[1], v = ver, s = seq, o = ARGV[3], q = 0, e = epoch, f = 0}))
return ver
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[3], cjson.encode({u = ARGV[2]}))
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Change:
    """What a change script did."""

    changed: bool
    version: int
    epoch: str
    #: What a ``del`` removed, as one blob (so ``pop`` is one atomic step).
    old: bytes | None = None
    #: Script outcome: 1 changed, 0 nothing to do, 2 append met a plain
    #: value (convert it first), 3 convert met a changed value (read again).
    code: int = 1
    #: The list's length after an ``append``.
    length: int = 0


@dataclass(frozen=True)
class Snapshot:
    """A key's stored bytes (``None`` if absent) with its version and the epoch.

    For a key stored as a list of appended items, ``bodies`` holds the
    items' encoded bodies and ``count`` their number (``blob`` is the same
    list as one value), and ``list_base`` the version that created the list:
    enough to extend the snapshot with only the items appended since.
    """

    blob: bytes | None
    version: int
    epoch: str
    bodies: bytes | None = None
    count: int = 0
    list_base: int = 0

    @classmethod
    def of_list(cls, bodies: bytes, count: int, version: int, epoch: str, base: int) -> Snapshot:
        from .codec import list_blob

        return cls(list_blob(bodies, count), version, epoch, bodies, count, base)

    def extended(self, item_blobs: list[bytes], version: int) -> Snapshot:
        """This list snapshot with ``item_blobs`` appended, at ``version``."""
        from .codec import join_items

        assert self.bodies is not None
        more, n = join_items(item_blobs)
        return Snapshot.of_list(
            self.bodies + more, self.count + n, version, self.epoch, self.list_base
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStore:
    """Every Redis command the library sends goes through this class."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.client = client if client is not None else self._connect(settings)
        ns = settings.namespace
        self.prefix = f"srs:{{{ns}}}:"
        self.versions_key = self.prefix + "ver"
        self.keys_key = self.prefix + "keys"
        self.seq_key = self.prefix + "seq"
        self.epoch_key = self.prefix + "epoch"
        self.channel = self.prefix + "events"
        self.listbase_key = self.prefix + "lbase"
        # A fresh random epoch offered by this process to the first write
        # after the data was (re)created.
        self._epoch_candidate = uuid.uuid4().hex[:16]
        self._pubsub_client: redis.Redis | None = None
        #: Told (in the calling thread) whenever Redis could not be reached.
        self.on_unavailable: Callable[[], None] | None = None
        self._change = self.client.register_script(_CHANGE)
        self._read = self.client.register_script(_READ)
        self._extend = self.client.register_script(_EXTEND)
        self._release = self.client.register_script(_RELEASE)
        self._presence = self.client.register_script(_PRESENCE)

    @staticmethod
    def _connect(settings: Settings) -> redis.Redis:
        if settings.url is None:
            import fakeredis

            return fakeredis.FakeRedis(server=fakeredis.FakeServer())
        return redis.Redis.from_url(
            settings.url,
            socket_timeout=settings.socket_timeout,
            socket_connect_timeout=settings.connect_timeout,
            # One quick retry covers a connection the server closed while idle;
            # more would stretch the bound on how long a call may take.
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
            health_check_interval=30,
        )

    def pubsub_client(self) -> redis.Redis:
        """The client the listener subscribes with.

        For a real Redis it has no retries of its own: redis-py would otherwise
        reconnect and resubscribe silently, and the listener must see every
        break to drop its cache and resync.
        """
        if self.settings.url is None:
            return self.client
        if self._pubsub_client is None:
            self._pubsub_client = redis.Redis.from_url(
                self.settings.url,
                socket_timeout=self.settings.socket_timeout,
                socket_connect_timeout=self.settings.connect_timeout,
                retry=Retry(NoBackoff(), 0),
            )
        return self._pubsub_client

    def value_key(self, key: str) -> str:
        return self.prefix + "v:" + key

    def list_key(self, key: str) -> str:
        return self.prefix + "l:" + key

    def lock_key(self, key: str) -> str:
        return self.prefix + "lock:" + key

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.AuthenticationError as exc:
            raise ServerStateError(
                f"Redis at {self.settings.redacted_url()} refused the credentials: {exc}"
            ) from exc
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if self.on_unavailable is not None:
                self.on_unavailable()
            raise StateUnavailable(
                f"Redis at {self.settings.redacted_url()} is unreachable: {exc}"
            ) from exc
        except redis.RedisError as exc:
            raise ServerStateError(f"Redis refused the request: {exc}") from exc

    # -- values -----------------------------------------------------------

    def _read_keys(self, key: str) -> list[str]:
        return [
            self.value_key(key),
            self.list_key(key),
            self.versions_key,
            self.epoch_key,
            self.listbase_key,
        ]

    @staticmethod
    def _snapshot(raw: Any) -> Snapshot:
        from .codec import join_items

        blob, items, version, epoch, base, _length = raw
        if items:
            bodies, count = join_items(list(items))
            return Snapshot.of_list(bodies, count, int(version), _text(epoch), int(base))
        return Snapshot(blob or None, int(version), _text(epoch))

    def read(self, key: str) -> Snapshot:
        with self._errors():
            raw = self._read(keys=self._read_keys(key), args=[key, 0])
        return self._snapshot(raw)

    def read_tail(self, key: str, start: int) -> tuple[list[bytes], int, str, int, int]:
        """Items of a list key from index ``start``: (items, version, epoch, list base, length)."""
        with self._errors():
            blob, items, version, epoch, base, length = self._read(
                keys=self._read_keys(key), args=[key, start]
            )
        if blob:  # the key holds a plain value now: no tail to speak of
            return [], int(version), _text(epoch), -1, 0
        return list(items), int(version), _text(epoch), int(base), int(length)

    def read_many(self, keys: list[str]) -> dict[str, Snapshot]:
        if not keys:
            return {}
        with self._errors():
            pipe = self.client.pipeline(transaction=True)
            for key in keys:
                self._read(keys=self._read_keys(key), args=[key, 0], client=pipe)
            out = pipe.execute()
        return {k: self._snapshot(raw) for k, raw in zip(keys, out, strict=True)}

    def keys(self) -> list[str]:
        with self._errors():
            members = self.client.smembers(self.keys_key)
        return sorted(_text(m) for m in members)

    def count(self) -> int:
        with self._errors():
            return int(self.client.scard(self.keys_key))

    def change(
        self,
        key: str,
        op: str,
        blob: bytes = b"",
        *,
        origin: str = "",
        quiet: bool = False,
        token: str = "",
        items: list[bytes] | None = None,
    ) -> Change:
        """Run the change script.

        ``op`` is ``set``; ``add`` (set only if absent, for ``setdefault``);
        ``del``; or ``touch`` (bump the version and notify, value unchanged,
        for ``force_rerun_bound_sessions``); ``append`` (push ``items`` onto
        the key's list); or ``convert`` (turn the plain list value ``blob``
        into a list of ``items``, only if it is still stored). A ``set``
        whose bytes equal the stored ones, an ``add`` on a present key and a
        ``del`` on an absent one change nothing and notify nobody.

        With ``token`` the change is fenced: it is refused (LockLost) unless
        the key's lock is still held with that token.
        """
        with self._errors():
            result = self._change(
                keys=[
                    self.value_key(key),
                    self.versions_key,
                    self.keys_key,
                    self.seq_key,
                    self.epoch_key,
                    self.lock_key(key),
                    self.list_key(key),
                    self.listbase_key,
                ],
                args=[
                    key,
                    op,
                    blob,
                    origin,
                    int(quiet),
                    self._epoch_candidate,
                    self.channel,
                    token,
                    *(items or ()),
                ],
            )
        code, version, epoch = int(result[0]), int(result[1]), _text(result[2])
        if code == _FENCED:
            raise LockLost(
                f"the lock on {key!r} was lost (its lease expired); the write was refused"
            )
        extra = result[3] if len(result) > 3 else None
        if op == "append" or op == "convert":
            return Change(code == 1, version, epoch, None, code, int(extra or 0))
        if isinstance(extra, list):  # a deleted list: give it back as one value
            from .codec import join_items, list_blob

            extra = list_blob(*join_items(extra))
        return Change(code == 1, version, epoch, extra, code)

    def sync_state(self, keys: list[str]) -> tuple[int, str, dict[str, int]]:
        """Sequence, epoch and versions of ``keys``, read atomically."""
        with self._errors():
            pipe = self.client.pipeline(transaction=True)
            pipe.get(self.seq_key)
            pipe.get(self.epoch_key)
            if keys:
                pipe.hmget(self.versions_key, keys)
            out = pipe.execute()
        versions = out[2] if keys else []
        return (
            int(out[0] or 0),
            _text(out[1]),
            {k: int(v or 0) for k, v in zip(keys, versions, strict=True)},
        )

    # -- presence ---------------------------------------------------------

    @staticmethod
    def presence_field(group: str) -> str:
        """The pseudo key whose version tracks a presence group (NUL keeps it apart)."""
        return "\x00presence:" + group

    def _presence_call(
        self, group: str, op: str, ttl_ms: int, args: list[str], origin: str = ""
    ) -> Any:
        keys = [
            self.prefix + "p:" + group,
            self.prefix + "pn:" + group,
            self.versions_key,
            self.seq_key,
            self.epoch_key,
        ]
        head: list[str | int] = [
            self.presence_field(group),
            self.channel,
            origin,
            self._epoch_candidate,
            ttl_ms,
            op,
        ]
        with self._errors():
            return self._presence(keys=keys, args=[*head, *args])

    def presence_join(
        self, group: str, member: str, name: str, ttl_ms: int, origin: str = ""
    ) -> int:
        """Add or refresh ``member``; ``origin`` (process:session) is not rerun by it.

        Like the other presence calls, returns the group's new version, or 0
        when nothing changed."""
        return int(self._presence_call(group, "join", ttl_ms, [member, name], origin))

    def presence_beat(self, group: str, members: dict[str, str], ttl_ms: int) -> int:
        """Extend ``members`` (id -> name), re-adding any that expired, and reap the dead."""
        flat = [x for pair in members.items() for x in pair]
        return int(self._presence_call(group, "beat", ttl_ms, flat))

    def presence_leave(self, group: str, member: str) -> int:
        return int(self._presence_call(group, "leave", 0, [member]))

    def presence_read(self, group: str) -> tuple[int, str, list[str]]:
        """Version, epoch and the names of the live members."""
        out = self._presence_call(group, "read", 0, [])
        return int(out[0]), _text(out[1]), [_text(n) for n in out[2:]]

    # -- locks ------------------------------------------------------------

    def lock_acquire(self, key: str, token: str, lease_ms: int) -> bool:
        with self._errors():
            return bool(self.client.set(self.lock_key(key), token, nx=True, px=lease_ms))

    def lock_extend(self, key: str, token: str, lease_ms: int) -> bool:
        with self._errors():
            return bool(self._extend(keys=[self.lock_key(key)], args=[token, lease_ms]))

    def lock_release(self, key: str, token: str) -> bool:
        with self._errors():
            return bool(self._release(keys=[self.lock_key(key)], args=[token, key, self.channel]))

    def lock_ttl_ms(self, key: str) -> int:
        with self._errors():
            return int(self.client.pttl(self.lock_key(key)))

    def close(self) -> None:
        for client in (self.client, self._pubsub_client):
            if client is None:
                continue
            try:
                client.close()
            except Exception:  # closing is best effort
                logger.debug("closing a Redis client failed", exc_info=True)
