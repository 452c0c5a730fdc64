"""The Redis store: every command the library sends, and what Redis's errors mean.

The key layout is in :mod:`..base.keys`; the scripts, one purpose each, in
``scripts/``. Why scripts: every change is one atomic step that compares
bytes, stores, bumps the version and the sequence, and publishes a small
notification. The value itself is never published.

Three kinds of Redis (``Settings.target``): one server (``redis.Redis``); a
Redis Cluster (``redis.RedisCluster``, which follows MOVED and ASK; every
name of a namespace shares one hash slot, so each script runs on one shard,
and notifications go out with SPUBLISH on Redis 7 and later); a primary
behind Sentinel (``Sentinel.master_for``, which asks the sentinels for the
master on every new connection).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import redis
from redis import cluster as _cluster
from redis import sentinel as _sentinel
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterError,
    RedisClusterException,
    TryAgainError,
)
from redis.retry import Retry

from ..base.codec import join_items, list_blob
from ..base.config import Settings, Target
from ..base.errors import CorruptValue, LockLost, ServerStateError, StateUnavailable
from ..base.keys import EPOCH_FIELD, SEQ_FIELD, Keyspace, presence_field
from . import scripts
from .notification import Outcome
from .pubsub import RedisSubscription, Subscription, Unsubscribed

logger = logging.getLogger(__name__)

T = TypeVar("T")

# redis-py leaves these untyped.
ClusterNode: Any = _cluster.ClusterNode
Sentinel: Any = _sentinel.Sentinel

#: The pause before a request is re-sent once after a connection error or a timeout.
RETRY_PAUSE = 0.05

#: The listener's connections speak RESP2: messages arrive as plain arrays.
#: Under RESP3 (redis-py 8's default) each is a push reply, which redis-py's
#: parser formats into a debug log line, whether or not anyone logs it, on
#: every message in every process.
PUBSUB_PROTOCOL = 2

#: Redis Cluster answers that mean "not run; ask again shortly": the slot is
#: being migrated (TRYAGAIN for a multi-key script, or redirections until
#: redis-py's own budget ran out: ClusterError "TTL exhausted", MOVED, ASK),
#: or the cluster is changing its mind (CLUSTERDOWN, MASTERDOWN; ClusterDownError
#: is a ClusterError). Nothing was applied, so asking again is always safe.
NOT_YET = (TryAgainError, AskError, ClusterError)
#: The longest pause between two such attempts.
NOT_YET_PAUSE_MAX = 0.5

# WriteResult, Snapshot and Writer are values: never changed once made (a
# Snapshot is shared by every reader of the cache). They are not declared
# frozen only because a frozen dataclass takes microseconds to build, and
# every write builds all three.


@dataclass(slots=True)
class WriteResult:
    """What a change script did."""

    outcome: Outcome
    version: int
    epoch: str
    #: What a delete removed, as one blob (so ``pop`` is one atomic step).
    old: bytes | None = None
    #: The list's length after an append or a convert; for a LOCKED append,
    #: the remaining lease of the lock in ms.
    length: int = 0
    #: With ``wait_replicas``: how many replicas confirmed the change.
    replicas: int | None = None

    @property
    def changed(self) -> bool:
        return self.outcome is Outcome.CHANGED


@dataclass(slots=True)
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
    #: For the last items of a list (:meth:`RedisStore.read_last`): the
    #: whole list's length.
    length: int = 0

    @classmethod
    def of_list(cls, bodies: bytes, count: int, version: int, epoch: str, base: int) -> Snapshot:
        return cls(list_blob(bodies, count), version, epoch, bodies, count, base)

    def extended(self, item_blobs: list[bytes], version: int, key: str | None = None) -> Snapshot:
        """This list snapshot with ``item_blobs`` appended, at ``version``."""
        assert self.bodies is not None
        more, n = join_items(item_blobs, key=key)
        return Snapshot.of_list(
            self.bodies + more, self.count + n, version, self.epoch, self.list_base
        )


@dataclass(frozen=True)
class Tail:
    """The items of a list key from some index on, with what they belong to."""

    items: list[bytes]
    version: int
    epoch: str
    #: The version that created the list; -1 when the key holds a plain value.
    list_base: int
    length: int


@dataclass(slots=True)
class Writer:
    """Who makes a change: named in its notification, and the fence it must pass."""

    #: ``process:session`` of the writer; its own session is not rerun by it.
    origin: str = ""
    #: Inside ``no_rerun``: caches drop the key, nobody reruns.
    quiet: bool = False
    #: The key's lock token while the writer holds the lock; the script refuses
    #: the write if the lock is no longer held with it ("" = unfenced).
    token: str = ""
    #: How many changes led to the run that makes this one (0: a person).
    depth: int = 0


ANONYMOUS = Writer()


#: A count as the scripts write and trust it (``is_count`` in _prelude.lua).
_COUNT = re.compile(rb"0|[1-9][0-9]{0,14}")


def _stored_count(raw: bytes | None) -> int:
    """A version or sequence read from the meta hash: 0 if absent, -1 if not a count.

    Anyone who can write to Redis can put anything there. -1 differs from
    every version a session can show, so a resync reruns the key's readers
    (whose read then names the damage) instead of raising and never syncing.
    The key's next write repairs it (``bump`` in _prelude.lua).
    """
    if raw is None:
        return 0
    return int(raw) if _COUNT.fullmatch(raw) else -1


def _check_bookkeeping(key: str, version: Any, base: Any) -> None:
    """Refuse a read whose version or list base the scripts found damaged (-1)."""
    if int(version) < 0 or int(base) < 0:
        what = "version" if int(version) < 0 else "list's base version"
        raise CorruptValue(
            f"server_state[{key!r}]: its {what} in Redis is not a count (written by "
            "something other than this library); writing or deleting the key repairs it"
        )


#: Script outcomes by number (faster than calling the enum on every write).
OUTCOMES = {o.value: o for o in Outcome}


class _Unique:
    """Names unique across processes and calls, without a system call each.

    A random prefix per process (drawn again in a forked child, which would
    otherwise repeat its parent's names) and a counter.
    """

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"


_unique = _Unique()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStore:
    """Every Redis command the library sends goes through this class."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.keyspace = Keyspace(settings.namespace)
        self._sentinel: Any = None
        self._target: Target | None = None
        if client is None and settings.url is not None:
            self._target = settings.target
        self.client: Any = client if client is not None else self._connect(settings)
        #: "server", "cluster" or "sentinel".
        self.mode = (
            "cluster"
            if isinstance(self.client, RedisCluster)
            else (self._target.mode if self._target is not None else "server")
        )
        #: How long a change's outcome is kept for a re-sent request: longer
        #: than any request can wait behind a stalled Redis before its retry.
        self.record_ms = int(max(10.0, 2 * settings.socket_timeout + 1) * 1000)
        self._pubsub_client: Any = None
        #: Cluster only: the node, replication id and previous replication id
        #: last read by replication_id(), and which node each id came from.
        self._last_replication: tuple[str, str, str] | None = None
        self._replid_nodes: dict[str, str] = {}
        #: Whether the listener subscribed once already (it then re-reads a
        #: cluster's slot map before each new subscription).
        self._subscribed_before = False
        #: Told (in the calling thread) whenever Redis could not be reached.
        self.on_unavailable: Callable[[], None] | None = None
        #: SSUBSCRIBE / SPUBLISH: on a Redis Cluster of Redis 7 or later, where
        #: PUBLISH would be broadcast to every node of the cluster.
        self.sharded = self.mode == "cluster" and self._cluster_major_version() >= 7
        publish = "SPUBLISH" if self.sharded else "PUBLISH"
        self._scripts = {
            name: self.client.register_script(scripts.source(name, publish))
            for name in sorted(scripts.WITH_PRELUDE | scripts.PLAIN)
        }

    def _connection_options(self, target: Target) -> dict[str, Any]:
        """What every connection to a server (not a sentinel) is made with."""
        options: dict[str, Any] = {
            "socket_timeout": self.settings.socket_timeout,
            "socket_connect_timeout": self.settings.connect_timeout,
            "username": target.username,
            "password": target.password,
        }
        if target.tls:
            options["ssl"] = True
            options.update(target.tls_options)
        return options

    def _connect(self, settings: Settings) -> Any:
        if settings.url is None:
            # Imported here: only the embedded store needs it, and it is slow to
            # import (the command line and workers with a URL never do).
            import fakeredis

            client: redis.Redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
            return client
        # No retries inside redis-py: it would re-send a script whose first
        # run may have applied (a stall longer than socket_timeout). The
        # store retries once itself, telling the script it is a retry.
        no_retry = Retry(NoBackoff(), 0)
        target = self._target
        assert target is not None
        if target.mode == "server":
            return redis.Redis.from_url(
                settings.url,
                socket_timeout=settings.socket_timeout,
                socket_connect_timeout=settings.connect_timeout,
                retry=no_retry,
                health_check_interval=30,
            )
        options = self._connection_options(target)
        if target.mode == "sentinel":
            self._sentinel = Sentinel(
                list(target.hosts),
                sentinel_kwargs=self._sentinel_options(target),
            )
            return self._sentinel.master_for(
                target.service, db=target.db, retry=no_retry, health_check_interval=30, **options
            )
        try:
            # RedisCluster reads the cluster's slot map here, from the first
            # node that answers, and follows MOVED and ASK from then on.
            return RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
                retry=no_retry,
                health_check_interval=30,
                **options,
            )
        except (RedisClusterException, redis.RedisError) as exc:
            if isinstance(exc, redis.AuthenticationError):
                raise ServerStateError(
                    f"{settings.describe()} refused the credentials: {exc}"
                ) from exc
            raise StateUnavailable(f"{settings.describe()} is unreachable: {exc}") from exc

    def _sentinel_options(self, target: Target) -> dict[str, Any]:
        options: dict[str, Any] = {
            "socket_timeout": self.settings.socket_timeout,
            "socket_connect_timeout": self.settings.connect_timeout,
            "username": target.sentinel_username,
            "password": target.sentinel_password,
            "retry": Retry(NoBackoff(), 0),
        }
        if target.tls:
            options["ssl"] = True
            options.update(target.tls_options)
        return options

    def _cluster_major_version(self) -> int:
        """The major version of the node that owns the namespace's slot (7 if not allowed)."""
        try:
            info = self._attempts(lambda _: self._owner_call("info", "server"))
        except ServerStateError:
            return 7  # INFO refused (an ACL without @dangerous): Redis 7 is the norm
        version = str(info.get("redis_version", "7")) if isinstance(info, dict) else "7"
        head = version.split(".")[0]
        return int(head) if head.isdigit() else 7

    def _owner_call(self, method: str, *args: Any) -> Any:
        """A command about the server (INFO, CONFIG GET), sent where the namespace lives.

        On a cluster, that is the node that owns the namespace's slot;
        elsewhere, the one server.
        """
        if self.mode != "cluster":
            return getattr(self.client, method)(*args)
        node = self.client.get_node_from_key(self.keyspace.meta)
        return getattr(self.client, method)(*args, target_nodes=node)

    def subscribe(self) -> Subscription:
        """A new subscription to the namespace's channel, for the listener.

        For a real Redis it uses a client with no retries of its own: redis-py
        would otherwise reconnect and resubscribe silently, and the listener
        must see every break to drop its cache and resync.

        On a Redis Cluster it is a plain connection to the node that owns the
        channel's slot (SSUBSCRIBE there), looked up afresh on every
        reconnect. Behind Sentinel, every new connection asks the sentinels
        for the master, and each ping checks they still name it.
        """
        channel = self.keyspace.channel
        again, self._subscribed_before = self._subscribed_before, True
        if self.settings.url is None and self.mode == "server":
            return RedisSubscription(self.client, channel)
        if self.mode == "cluster":
            return self._cluster_subscription(channel, refresh=again)
        if self._pubsub_client is None:
            target = self._target
            assert target is not None and self.settings.url is not None
            if target.mode == "sentinel":
                assert self._sentinel is not None
                self._pubsub_client = self._sentinel.master_for(
                    target.service,
                    db=target.db,
                    retry=Retry(NoBackoff(), 0),
                    protocol=PUBSUB_PROTOCOL,
                    **self._connection_options(target),
                )
            else:
                self._pubsub_client = redis.Redis.from_url(
                    self.settings.url,
                    socket_timeout=self.settings.socket_timeout,
                    socket_connect_timeout=self.settings.connect_timeout,
                    retry=Retry(NoBackoff(), 0),
                    protocol=PUBSUB_PROTOCOL,
                )
        check = self._check_master if self.mode == "sentinel" else None
        return RedisSubscription(self._pubsub_client, channel, check=check)

    def _cluster_subscription(self, channel: str, refresh: bool) -> Subscription:
        """Subscribe on the node that owns ``channel``'s slot.

        After a break (the slot moved, a node failed) the slot map is read
        again first, so a reconnect goes to the node that owns the slot now.
        A subscription sent to a node that does not own the slot is answered
        with MOVED, which raises: the listener reconnects and looks again.
        """
        cluster = self.client
        if refresh:
            try:
                cluster.nodes_manager.initialize()
            except (RedisClusterException, redis.RedisError) as exc:
                raise StateUnavailable(
                    f"{self.settings.describe()}: cannot read the slot map: {exc}"
                ) from exc
        node = cluster.get_node_from_key(channel)
        old, self._pubsub_client = self._pubsub_client, None
        if old is not None:
            old.close()
        target = self._target
        options = self._connection_options(target) if target is not None else {}
        client = redis.Redis(
            host=node.host,
            port=node.port,
            retry=Retry(NoBackoff(), 0),
            protocol=PUBSUB_PROTOCOL,
            **options,
        )
        self._pubsub_client = client

        def check(address: tuple[str, int] | None) -> None:
            # The main client learns of a move from MOVED replies: listen there too.
            owner = cluster.get_node_from_key(channel)
            if (owner.host, owner.port) != (node.host, node.port):
                raise Unsubscribed(
                    f"the slot of {channel} moved from {node.host}:{node.port} "
                    f"to {owner.host}:{owner.port}"
                )

        return RedisSubscription(client, channel, sharded=self.sharded, check=check)

    def _check_master(self, address: tuple[str, int] | None) -> None:
        """Behind Sentinel: raise when the sentinels name a master other than ``address``.

        A failover promotes a replica while the old master may still accept
        connections (until the sentinels demote it), and a connection asks
        the sentinels only when it is made. So at every ping the store's pool
        asks them (``get_master_address`` drops its idle connections when the
        master changed; busy ones are dropped when released), and the listener
        moves when its own server is not the master. Sentinels that cannot be
        asked change nothing.
        """
        if address is None or self._sentinel is None:
            return
        try:
            master = self.client.connection_pool.get_master_address()
        except redis.RedisError:
            logger.debug("no master from the sentinels", exc_info=True)
            return
        if (str(master[0]), int(master[1])) != address:
            raise Unsubscribed(
                f"the sentinels name {master[0]}:{master[1]} as master, "
                f"not {address[0]}:{address[1]}"
            )

    def _mapped(self, exc: Exception) -> Exception:
        """What a redis-py error means for the caller (raise it ``from exc``)."""
        if isinstance(exc, redis.AuthenticationError):
            return ServerStateError(
                f"Redis at {self.settings.redacted_url()} refused the credentials: {exc}"
            )
        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, RedisClusterException)):
            # RedisClusterException: no node of the cluster could be reached.
            if self.on_unavailable is not None:
                self.on_unavailable()
            return StateUnavailable(f"{self._where()} is unreachable: {exc}")
        if isinstance(exc, NOT_YET):
            if self.mode != "cluster" and isinstance(exc, AskError):
                return ServerStateError(
                    f"{self._where()} is a Redis Cluster node (it answered {exc!s:.60}): "
                    "use a redis+cluster:// URL"
                )
            if self.on_unavailable is not None:
                self.on_unavailable()
            return StateUnavailable(
                f"{self._where()} did not serve the namespace's slot within "
                f"{self.settings.socket_timeout:g}s (moving or failing over): {exc}"
            )
        return ServerStateError(f"Redis refused the request: {exc}")

    def _where(self) -> str:
        if self.settings.url is None or self._target is None or self.mode == "server":
            return f"Redis at {self.settings.redacted_url()}"
        return self.settings.describe()

    def _run(self, name: str, keys: list[str], args: list[Any], client: Any = None) -> Any:
        script = self._scripts[name]
        if client is not None:  # a pipeline: redis-py's Script loads it there if needed
            return script(keys=keys, args=args, client=client)
        # EVALSHA straight away: what Script.__call__ does, minus its checks on
        # every call (this is every write's path).
        execute: Callable[..., Any] = self.client.execute_command
        try:
            return execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:  # Redis lost its scripts (a restart)
            script.sha = self.client.script_load(script.script)
            return execute("EVALSHA", script.sha, len(keys), *keys, *args)

    def _attempts(self, call: Callable[[bool], T]) -> T:
        """``call(retry=False)``, and once more with ``retry=True`` if the link failed.

        One quick retry covers a connection the server closed while idle;
        more would stretch the bound on how long a call may take. Every
        request sent twice is safe to send twice: reads are, and each change
        script is told it is a retry and replays its recorded outcome.

        On a Redis Cluster, an answer that says the request was not run (the
        slot is moving, the cluster is failing over: see :data:`NOT_YET`) is
        asked again, with growing pauses, for up to ``socket_timeout``.
        """
        deadline = time.monotonic() + self.settings.socket_timeout
        resent = False
        pause = RETRY_PAUSE
        # Plain try blocks, not a context manager: this runs for every request.
        try:
            while True:
                try:
                    return call(resent)
                except (redis.ConnectionError, redis.TimeoutError, RedisClusterException) as exc:
                    if isinstance(exc, redis.AuthenticationError) or resent:
                        raise
                    logger.debug("retrying a request once after %s", type(exc).__name__)
                    resent = True
                    time.sleep(RETRY_PAUSE)
                except NOT_YET as exc:
                    if self.mode != "cluster" or time.monotonic() + pause > deadline:
                        raise
                    logger.debug("the cluster said %s; asking again", exc)
                    time.sleep(pause)
                    pause = min(2 * pause, NOT_YET_PAUSE_MAX)
        except (redis.RedisError, RedisClusterException) as exc:
            raise self._mapped(exc) from exc

    # -- values -----------------------------------------------------------

    def _read_call(self, key: str, start: int, client: Any = None) -> Any:
        ks = self.keyspace
        head_keys, head_args = self._head(key, ANONYMOUS)
        keys = [*head_keys, ks.value(key), ks.list(key), ks.list_bases, ks.keys]
        return self._run("read", keys, [*head_args, 0, start], client=client)

    @staticmethod
    def _snapshot(raw: Any, key: str) -> Snapshot:
        blob, items, version, epoch, base, _length = raw
        _check_bookkeeping(key, version, base)
        if items:
            bodies, count = join_items(list(items), key=key)
            return Snapshot.of_list(bodies, count, int(version), _text(epoch), int(base))
        return Snapshot(blob or None, int(version), _text(epoch))

    def read(self, key: str) -> Snapshot:
        raw = self._attempts(lambda _: self._read_call(key, 0))
        return self._snapshot(raw, key)

    def read_tail(self, key: str, start: int) -> Tail:
        """Items of a list key from index ``start`` on."""
        blob, items, version, epoch, base, length = self._attempts(
            lambda _: self._read_call(key, start)
        )
        _check_bookkeeping(key, version, base)
        if blob:  # the key holds a plain value now: no tail to speak of
            return Tail([], int(version), _text(epoch), -1, 0)
        return Tail(list(items), int(version), _text(epoch), int(base), int(length))

    def read_last(self, key: str, n: int) -> Snapshot:
        """The last ``n`` items of a list key, as one list blob, with the list's length.

        Costs O(n), however long the list. A key holding a plain value (a
        list written whole) comes back whole; the caller slices it.
        """
        blob, items, version, epoch, base, length = self._attempts(
            lambda _: self._read_call(key, -n if n else 2**31)
        )
        _check_bookkeeping(key, version, base)
        if blob or not int(length):
            return Snapshot(blob or None, int(version), _text(epoch))
        bodies, count = join_items(list(items), key=key) if items else (b"", 0)
        snap = Snapshot.of_list(bodies, count, int(version), _text(epoch), int(base))
        return replace(snap, length=int(length))

    def read_many(self, keys: list[str]) -> dict[str, Snapshot]:
        """Many keys in one script (one round trip, one consistent snapshot).

        One script rather than a pipeline of ``read``: redis-py's cluster
        client refuses scripts in a pipeline, and every key of the namespace
        is in one slot, so one script can read them all, on any kind of Redis.
        """
        if not keys:
            return {}
        ks = self.keyspace
        head_keys, head_args = self._head("", ANONYMOUS)
        names = [*head_keys, ks.list_bases, ks.keys]
        for key in keys:
            names += [ks.value(key), ks.list(key)]
        out = self._attempts(lambda _: self._run("read_many", names, [*head_args, 0, *keys]))
        return {k: self._snapshot(raw, k) for k, raw in zip(keys, out, strict=True)}

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value or a list, or its lock is held."""
        ks = self.keyspace
        names = [ks.value(key), ks.list(key), ks.lock(key)]
        return bool(self._attempts(lambda _: self.client.exists(*names)))

    def keys(self) -> list[str]:
        members = self._attempts(lambda _: self.client.smembers(self.keyspace.keys))
        return sorted(_text(m) for m in members)

    def count(self) -> int:
        return int(self._attempts(lambda _: self.client.scard(self.keyspace.keys)))

    # -- changes ------------------------------------------------------------

    def _head(self, field: str, writer: Writer) -> tuple[list[str], list[Any]]:
        """The keys and arguments every change script starts with (see _prelude.lua).

        The retry flag (the last argument) is filled in by :meth:`_script`.
        """
        ks = self.keyspace
        # Unique per call, in every process: it names the request's record,
        # and it is a fresh epoch candidate (after a loss of data, the first
        # change creates an epoch no process has seen).
        unique = _unique()
        keys = [ks.meta, ks.request(unique)]
        args: list[Any] = [
            ks.channel,
            unique,
            field,
            writer.origin,
            int(writer.quiet),
            writer.depth,
            self.record_ms,
        ]
        return keys, args

    def _script(
        self, name: str, keys: list[str], head: list[Any], tail: list[Any]
    ) -> tuple[Any, int | None]:
        """Run a change script; with ``wait_replicas``, then Redis's WAIT on the same connection.

        Returns the script's result and how many replicas confirmed (``None``
        when not waiting).
        """
        wanted = self.settings.wait_replicas

        def call(retry: bool) -> tuple[Any, int | None]:
            args = [*head, int(retry), *tail]
            if not wanted:
                return self._run(name, keys, args), None
            pipe = self._owner_pipeline()
            self._run(name, keys, args, client=pipe)
            pipe.wait(wanted, int(self.settings.wait_timeout * 1000))
            result, acked = pipe.execute()
            return result, int(acked)

        return self._attempts(call)

    def _owner_pipeline(self, transaction: bool = False) -> Any:
        """A pipeline on one connection to the server that holds the namespace.

        WAIT counts the replicas that have every write made *on its
        connection*, so the script and WAIT must share one. A cluster
        client's pipeline refuses scripts, so on a cluster this is a plain
        pipeline to the node that owns the slot (from the slot map); a MOVED
        answer means the map was stale: it is read again and the request,
        which did not run, asked again (:data:`NOT_YET`).
        """
        if self.mode != "cluster":
            return self.client.pipeline(transaction=transaction)
        cluster = self.client
        node = cluster.get_node_from_key(self.keyspace.meta)
        return _OwnerPipeline(cluster, cluster.get_redis_connection(node), transaction)

    def _change(self, name: str, key: str, writer: Writer, args: list[Any]) -> WriteResult:
        ks = self.keyspace
        head_keys, head_args = self._head(key, writer)
        keys = [
            *head_keys,
            ks.value(key),
            ks.keys,
            ks.lock(key),
            ks.list(key),
            ks.list_bases,
            ks.expiries,
        ]
        result, replicas = self._script(name, keys, head_args, [writer.token, *args])
        outcome = OUTCOMES[int(result[0])]
        if outcome is Outcome.FENCED:
            raise LockLost(
                f"the lock on {key!r} was lost (its lease expired); the write was refused"
            )
        version, epoch, extra = int(result[1]), _text(result[2]), result[3]
        if name in ("append", "convert"):
            return WriteResult(outcome, version, epoch, length=int(extra or 0), replicas=replicas)
        old = bytes(extra) if extra else None
        return WriteResult(outcome, version, epoch, old=old, replicas=replicas)

    def set(
        self, key: str, blob: bytes, writer: Writer = ANONYMOUS, ttl_ms: int = 0
    ) -> WriteResult:
        """Store ``blob``; the same bytes as stored change nothing and notify nobody.

        With ``ttl_ms`` the value expires then (the same bytes renew it).
        """
        return self._change("set", key, writer, [blob, ttl_ms])

    def expire(self, key: str, ttl_ms: int) -> bool:
        """Give ``key`` a lifetime (0: none); ``False`` if it holds nothing."""
        ks = self.keyspace
        head_keys, head_args = self._head(key, ANONYMOUS)
        keys = [*head_keys, ks.value(key), ks.list(key), ks.expiries]
        return bool(
            self._attempts(lambda r: self._run("expire", keys, [*head_args, int(r), ttl_ms]))
        )

    def tick(self, process_id: str, record: str, record_ms: int) -> tuple[int, str, int]:
        """The health check (tick.lua): sequence, epoch, and how many expired keys it deleted."""
        ks = self.keyspace
        head_keys, head_args = self._head("", ANONYMOUS)
        keys = [
            *head_keys,
            ks.expiries,
            ks.keys,
            ks.list_bases,
            ks.processes,
            ks.process(process_id),
        ]
        tail = [ks.prefix, process_id, record, record_ms]
        seq, epoch, reaped = self._attempts(
            lambda r: self._run("tick", keys, [*head_args, int(r), *tail])
        )
        return int(seq), _text(epoch), int(reaped)

    def processes(self) -> list[str]:
        """The status records of the processes attached to the namespace (JSON texts)."""
        ks = self.keyspace

        def call(_: bool) -> list[Any]:
            ids = self.client.zrange(ks.processes, 0, -1)
            if not ids:
                return []
            # Records of dead processes have expired: MGET gives None for them.
            return list(self.client.mget([ks.process(_text(i)) for i in ids]))

        return [_text(r) for r in self._attempts(call) if r]

    def set_default(self, key: str, blob: bytes, writer: Writer = ANONYMOUS) -> WriteResult:
        """Store ``blob`` only if the key holds nothing (``setdefault``).

        ``old`` is the value that was stored already when the key was not missing.
        """
        return self._change("set_default", key, writer, [blob])

    def delete(self, key: str, writer: Writer = ANONYMOUS) -> WriteResult:
        """Delete the key; ``old`` is what it held (``pop``)."""
        return self._change("delete", key, writer, [])

    def append(
        self, key: str, items: list[bytes], cap: int, writer: Writer = ANONYMOUS
    ) -> WriteResult:
        """Push ``items`` onto the key's list; past ``2 * cap`` items keep the newest ``cap``."""
        return self._change("append", key, writer, [cap, *items])

    def convert(
        self, key: str, expected: bytes, items: list[bytes], cap: int, writer: Writer = ANONYMOUS
    ) -> WriteResult:
        """Turn the plain list value ``expected`` into a list of ``items``, if still stored."""
        return self._change("convert", key, writer, [cap, expected, *items])

    def touch(self, key: str, writer: Writer = ANONYMOUS) -> WriteResult:
        """Bump the version and notify, value unchanged (``force_rerun_bound_sessions``)."""
        keys, args = self._head(key, writer)
        result, replicas = self._script("touch", keys, args, [])
        outcome = OUTCOMES[int(result[0])]
        return WriteResult(outcome, int(result[1]), _text(result[2]), replicas=replicas)

    def sync_state(self, keys: list[str]) -> tuple[int, str, dict[str, int]]:
        """Sequence, epoch and versions of ``keys``, read in one step."""
        fields = [SEQ_FIELD, EPOCH_FIELD, *keys]
        out = self._attempts(lambda _: self.client.hmget(self.keyspace.meta, fields))
        return (
            _stored_count(out[0]),
            _text(out[1]),
            {k: _stored_count(v) for k, v in zip(keys, out[2:], strict=True)},
        )

    def replication_id(self) -> str | None:
        """The server's replication id, which a failover changes; ``None`` if not allowed.

        Under an ACL without INFO (``-@dangerous``) the sequence check alone
        detects a failover that lost changes (see docs/internals.md).
        """
        try:
            info = self._attempts(lambda _: self._owner_call("info", "replication"))
        except ServerStateError:
            return None
        if not isinstance(info, dict) or not info.get("master_replid"):
            return None
        replid = str(info["master_replid"])
        if self.mode == "cluster":
            node = self.client.get_node_from_key(self.keyspace.meta)
            self._last_replication = (str(node.name), replid, str(info.get("master_replid2", "")))
            self._replid_nodes[replid] = str(node.name)
        return replid

    def slot_moved(self, known: str) -> bool:
        """Whether a replication id other than ``known`` only means the slot moved.

        On a Redis Cluster, a slot migrated to another master (the keys moved
        with it: nothing is lost) is answered for by a node that is neither
        the one that had ``known`` nor its promoted replica (a promoted
        replica keeps its old master's id as ``master_replid2``).
        """
        if self.mode != "cluster" or self._last_replication is None:
            return False
        node, _, replid2 = self._last_replication
        before = self._replid_nodes.get(known)
        return before is not None and before != node and replid2 != known

    def evicted_count(self) -> int | None:
        """Keys Redis evicted since it started (all namespaces), or ``None`` if not allowed."""
        try:
            info = self._attempts(lambda _: self._owner_call("info", "stats"))
        except ServerStateError:
            return None
        value = info.get("evicted_keys") if isinstance(info, dict) else None
        return int(value) if value is not None else None

    def eviction_policy(self) -> str | None:
        """Redis's ``maxmemory-policy``, or ``None`` if CONFIG GET is not allowed."""
        try:
            got = self._attempts(lambda _: self._owner_call("config_get", "maxmemory-policy"))
        except ServerStateError:
            return None
        value = got.get("maxmemory-policy") if isinstance(got, dict) else None
        return _text(value) if value else None

    def all_versions(self) -> dict[str, int]:
        """Every state key's version (the meta hash without its own fields)."""
        raw = self._attempts(lambda _: self.client.hgetall(self.keyspace.meta))
        out: dict[str, int] = {}
        for field, value in raw.items():
            name = _text(field)
            if not name.startswith("\x00"):
                out[name] = _stored_count(value)
        return out

    # -- presence ---------------------------------------------------------

    def _presence_update(
        self, group: str, op: str, ttl_ms: int, args: list[str], origin: str = ""
    ) -> int:
        ks = self.keyspace
        head_keys, head_args = self._head(presence_field(group), Writer(origin))
        keys = [*head_keys, ks.presence_members(group), ks.presence_names(group)]
        tail = [ttl_ms, op, *args]
        return int(
            self._attempts(
                lambda r: self._run("presence_update", keys, [*head_args, int(r), *tail])
            )
        )

    def presence_join(
        self, group: str, member: str, name: str, ttl_ms: int, origin: str = ""
    ) -> int:
        """Add or refresh ``member``; ``origin`` (process:session) is not rerun by it.

        Like the other presence calls, returns the group's new version, or 0
        when nothing changed."""
        return self._presence_update(group, "join", ttl_ms, [member, name], origin)

    def presence_beat(self, group: str, members: dict[str, str], ttl_ms: int) -> int:
        """Extend ``members`` (id -> name), re-adding any that expired, and reap the dead."""
        flat = [x for pair in members.items() for x in pair]
        return self._presence_update(group, "beat", ttl_ms, flat)

    def presence_leave(self, group: str, member: str) -> int:
        return self._presence_update(group, "leave", 0, [member])

    def presence_read(self, group: str) -> tuple[int, str, list[str]]:
        """Version, epoch and the names of the live members."""
        ks = self.keyspace
        keys = [ks.presence_members(group), ks.presence_names(group), ks.meta]
        out = self._attempts(lambda _: self._run("presence_read", keys, [presence_field(group)]))
        return _stored_count(out[0]), _text(out[1]), [_text(n) for n in out[2:]]

    # -- locks ------------------------------------------------------------

    def lock_acquire(self, key: str, token: str, lease_ms: int) -> bool:
        keys = [self.keyspace.lock(key)]
        return bool(self._attempts(lambda _: self._run("lock_acquire", keys, [token, lease_ms])))

    def lock_extend(self, key: str, token: str, lease_ms: int) -> bool:
        keys = [self.keyspace.lock(key)]
        return bool(self._attempts(lambda _: self._run("lock_extend", keys, [token, lease_ms])))

    def lock_release(self, key: str, token: str) -> bool:
        ks = self.keyspace
        return bool(
            self._attempts(
                lambda retry: self._run(
                    "lock_release", [ks.lock(key)], [ks.channel, token, key, int(retry)]
                )
            )
        )

    def lock_ttl_ms(self, key: str) -> int:
        return int(self._attempts(lambda _: self.client.pttl(self.keyspace.lock(key))))

    def close(self) -> None:
        for client in (self.client, self._pubsub_client, self._sentinel):
            if client is None:
                continue
            try:
                client.close()
            except Exception:  # closing is best effort
                logger.debug("closing a Redis client failed", exc_info=True)

    # -- inspection (the command line) -----------------------------------------
    # Read-only views for `streamlit-redis-state` (cli.py): what each key holds,
    # and its exact stored bytes for a dump. Plain commands, each batch on the
    # namespace's one hash slot; nothing here changes or publishes anything.

    #: Keys per round trip when inspecting or exporting.
    INSPECT_BATCH = 64

    def inspect_keys(self, keys: list[str]) -> list[tuple[str, str, int, int, int, int]]:
        """``(key, kind, bytes, items, ttl_ms, version)`` of each key that holds something.

        ``kind`` is ``"value"`` or ``"list"`` (grown with append); ``bytes`` the
        stored bytes (a list's items summed, counted in Redis, not fetched);
        ``items`` a list's length (0 for a value); ``ttl_ms`` the lifetime
        left (-1: none). A key that holds nothing any more (expired, not yet
        deleted by a tick) is left out, as a read would find it missing.
        """
        ks = self.keyspace
        # Sums the lengths of a list's items where they are, so a long chat
        # log is not sent over the wire to be measured.
        list_bytes = (
            "local n = 0 for _, v in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) "
            "do n = n + #v end return n"
        )
        out: list[tuple[str, str, int, int, int, int]] = []
        for start in range(0, len(keys), self.INSPECT_BATCH):
            batch = keys[start : start + self.INSPECT_BATCH]

            def call(_: bool, batch: list[str] = batch) -> list[Any]:
                pipe = self._owner_pipeline()
                for key in batch:
                    pipe.strlen(ks.value(key))
                    pipe.llen(ks.list(key))
                    pipe.pttl(ks.value(key))
                    pipe.pttl(ks.list(key))
                pipe.hmget(ks.meta, batch)
                return list(pipe.execute())

            raw = self._attempts(call)
            versions = raw[-1]
            for i, key in enumerate(batch):
                size, length, value_ttl, list_ttl = (int(x) for x in raw[4 * i : 4 * i + 4])
                version = _stored_count(versions[i])
                if size:
                    out.append((key, "value", size, 0, value_ttl, version))
                elif length:
                    name = ks.list(key)

                    def measure(_: bool, name: str = name) -> Any:
                        return self.client.eval(list_bytes, 1, name)

                    total = int(self._attempts(measure))
                    out.append((key, "list", total, length, list_ttl, version))
        return out

    def export_keys(self, keys: list[str]) -> list[tuple[str, str, list[bytes], int]]:
        """``(key, kind, blobs, ttl_ms)`` of each key that holds something, as stored.

        ``blobs`` is the value's one blob, or a list's item blobs in order;
        ``ttl_ms`` the lifetime left (-1: none). Each batch is read in one
        MULTI, so no key is seen half converted from a value to a list.
        """
        ks = self.keyspace
        out: list[tuple[str, str, list[bytes], int]] = []
        for start in range(0, len(keys), self.INSPECT_BATCH):
            batch = keys[start : start + self.INSPECT_BATCH]

            def call(_: bool, batch: list[str] = batch) -> list[Any]:
                pipe = self._owner_pipeline(transaction=True)
                for key in batch:
                    pipe.get(ks.value(key))
                    pipe.lrange(ks.list(key), 0, -1)
                    pipe.pttl(ks.value(key))
                    pipe.pttl(ks.list(key))
                return list(pipe.execute())

            raw = self._attempts(call)
            for i, key in enumerate(batch):
                blob, items, value_ttl, list_ttl = raw[4 * i : 4 * i + 4]
                if blob:
                    out.append((key, "value", [bytes(blob)], int(value_ttl)))
                elif items:
                    out.append((key, "list", [bytes(b) for b in items], int(list_ttl)))
        return out


class _OwnerPipeline:
    """A plain pipeline to one cluster node; a MOVED answer updates the cluster's slot map."""

    def __init__(
        self, cluster: RedisCluster, node_client: redis.Redis, transaction: bool = False
    ) -> None:
        self._cluster = cluster
        self._pipe = node_client.pipeline(transaction=transaction)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    def execute(self) -> list[Any]:
        try:
            return list(self._pipe.execute())
        except AskError:
            # MOVED (a subclass) or ASK: the slot moved or is moving. Read the
            # map again; the caller asks again, since nothing ran.
            self._cluster.nodes_manager.initialize()
            raise
