"""The command line: ``streamlit-redis-state`` (or ``python -m streamlit_redis_state``).

For operators of an app that uses the library: list a namespace's keys, read
and write values, watch changes, list the processes attached, dump and
restore, clear. It is configured like the library (``--url`` and
``--namespace``, then the environment, then ``.streamlit/secrets.toml`` in
the current folder; :mod:`.sources` has the precedence), and it writes
through a :class:`~.engine.hub.Hub`, the same scripts the library runs, so
every write notifies every replica and reruns the sessions that show the key.

Values are shown and read as tagged JSON (:mod:`.tagged_json`); dumps keep
the stored bytes (:mod:`.dumpfile`).

Exit status: 0 done; 1 the command failed (Redis unreachable, a missing key,
a file that cannot be restored), with one line on stderr saying what; 2 a
usage error (a bad argument, no Redis configured, ``clear`` without
``--yes``). Streamlit is never imported (on Python 3.11 and later), so the
tool starts without its cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from ..base import codec
from ..base.config import SECRETS_SECTION, Settings
from ..base.errors import ConfigurationError, InvalidKey, ServerStateError
from ..base.keys import check_key
from ..base.sources import read_secrets, secrets_files, settings_for
from ..base.version import __version__
from ..edges.bridge import NoSession
from ..edges.notification import Outcome
from ..engine.hub import Hub
from ..engine.watches import Changed, Event
from ..server_state import ServerState
from .dumpfile import DumpedKey, DumpError
from .dumpfile import parse as parse_dump
from .dumpfile import render as render_dump
from .tagged_json import TaggedJSONError
from .tagged_json import dumps as tagged_dumps
from .tagged_json import loads as tagged_loads

PROG = "streamlit-redis-state"

logger = logging.getLogger(__name__)


class UsageError(Exception):
    """The command was called wrongly: exit status 2."""


class Failure(Exception):
    """The command could not do its job: exit status 1."""


# -- configuration -----------------------------------------------------------------


def settings_from(args: argparse.Namespace, cwd: Path | None = None) -> Settings:
    """The tool's settings: flags, then the environment, then secrets.toml (see :mod:`.sources`)."""
    name = getattr(args, "connection", None) or SECRETS_SECTION
    explicit = {"url": getattr(args, "url", None), "namespace": getattr(args, "namespace", None)}
    files = secrets_files(cwd)
    settings = settings_for(name, explicit, read_secrets(files), os.environ, "the command line")
    if settings.url is None:
        raise UsageError(
            "no Redis configured: pass --url, set STREAMLIT_REDIS_STATE_URL, or give url in "
            f"[connections.{name}] of {files[-1]}"
        )
    return settings


# -- output ------------------------------------------------------------------------


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _note(text: str) -> None:
    """A summary for the person at the terminal, kept out of what stdout carries."""
    sys.stderr.write(text + "\n")


def _table(headers: list[str], rows: list[list[str]], right: Collection[int] = ()) -> str:
    """Aligned columns, numbers (the ``right`` columns) flush right."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join(line(r) for r in [headers, *rows])


def _shown_key(key: str) -> str:
    """A key as one table cell: as is when printable, else as a JSON string."""
    return key if key.isprintable() else json.dumps(key, ensure_ascii=False)


def _seconds(ttl_ms: int) -> float | None:
    return round(ttl_ms / 1000, 3) if ttl_ms >= 0 else None


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _key(text: str) -> str:
    try:
        return check_key(text)
    except (TypeError, InvalidKey) as exc:
        raise UsageError(str(exc)) from None


def _where(hub: Hub) -> str:
    return f"namespace {hub.settings.namespace!r} at {hub.settings.redacted_url()}"


# -- commands ------------------------------------------------------------------------


def cmd_keys(hub: Hub, args: argparse.Namespace) -> int:
    rows = hub.store.inspect_keys(hub.store.keys())
    if args.json:
        records = [
            {
                "key": key,
                "kind": kind,
                "version": version,
                "bytes": size,
                "items": items if kind == "list" else None,
                "ttl": _seconds(ttl),
            }
            for key, kind, size, items, ttl, version in rows
        ]
        _out(json.dumps(records, indent=2, ensure_ascii=False))
        return 0
    table = [
        [
            _shown_key(key),
            kind,
            str(items) if kind == "list" else "-",
            str(size),
            str(version),
            "-" if ttl < 0 else f"{ttl / 1000:.1f}s",
        ]
        for key, kind, size, items, ttl, version in rows
    ]
    if table:
        _out(_table(["KEY", "KIND", "ITEMS", "BYTES", "VERSION", "TTL"], table, {2, 3, 4, 5}))
    else:
        _note(f"no keys in {_where(hub)}")
    return 0


def cmd_get(hub: Hub, args: argparse.Namespace) -> int:
    key = _key(args.key)
    blob = hub.read(key, subscribe=False).blob
    if blob is None:
        raise Failure(f"no key {key!r} in {_where(hub)}")
    value = codec.decode(blob, key=key)
    try:
        _out(tagged_dumps(value, indent=None if args.compact else 2))
    except TaggedJSONError as exc:
        raise Failure(f"{key!r}: {exc}") from None
    return 0


def cmd_set(hub: Hub, args: argparse.Namespace) -> int:
    key = _key(args.key)
    text = sys.stdin.read() if args.json == "-" else args.json
    try:
        value = tagged_loads(text)
    except TaggedJSONError as exc:
        raise UsageError(f"the value is not tagged JSON: {exc}") from None
    ServerState(lambda: hub).set(key, value, ttl=args.ttl)
    return 0


def cmd_del(hub: Hub, args: argparse.Namespace) -> int:
    key = _key(args.key)
    if not hub.delete(key).changed:
        raise Failure(f"no key {key!r} in {_where(hub)}")
    return 0


def cmd_dump(hub: Hub, args: argparse.Namespace) -> int:
    exported = hub.store.export_keys(hub.store.keys())
    keys = [
        DumpedKey(key, kind, tuple(blobs), max(1, ttl) if ttl >= 0 else None)
        for key, kind, blobs, ttl in exported
    ]
    text = render_dump(hub.settings.namespace, keys)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        _write_atomically(Path(args.file), text)
        _note(f"dumped {len(keys)} keys of {_where(hub)} to {args.file}")
    return 0


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (readable by its owner only: it holds the state)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_restore(hub: Hub, args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except UnicodeDecodeError:
        raise Failure(f"{args.file}: not a dump file (not UTF-8); nothing was written") from None
    try:
        dump = parse_dump(text, hub.settings.max_value_bytes)
    except DumpError as exc:
        raise Failure(f"{args.file}: {exc}; nothing was written") from None
    present = set(hub.store.keys())
    clashes = sorted(k.key for k in dump.keys if k.key in present)
    if clashes and not (args.replace or args.skip_existing):
        shown = ", ".join(repr(k) for k in clashes[:5]) + (", ..." if len(clashes) > 5 else "")
        raise Failure(
            f"{len(clashes)} keys of {args.file} exist in {_where(hub)} ({shown}); nothing was "
            "written (--replace overwrites them, --skip-existing keeps them)"
        )
    restored = skipped = 0
    for entry in dump.keys:
        if entry.key in present and args.skip_existing:
            skipped += 1
        elif _restore_key(hub, entry, replace=args.replace):
            restored += 1
        else:
            skipped += 1
    origin = f" (dumped from namespace {dump.namespace!r}" + (
        f" at {dump.created})" if dump.created else ")"
    )
    kept = f"; {skipped} existing keys kept" if skipped else ""
    _note(f"restored {restored} keys into {_where(hub)}{origin}{kept}")
    return 0


def _restore_key(hub: Hub, entry: DumpedKey, *, replace: bool) -> bool:
    """Write one key as dumped; ``False`` when it was kept because it exists (not ``replace``)."""
    key, ttl = entry.key, entry.ttl_ms or 0
    if entry.kind == "value":
        blob = entry.blobs[0]
        if replace:
            if not hub.set(key, blob, ttl).changed:
                hub.expire(key, ttl)  # the same bytes: only the lifetime is the file's
            return True
        if not hub.set_default(key, blob).changed:
            return False  # written by someone else since the check
        if ttl:
            hub.expire(key, ttl)
        return True
    items = list(entry.blobs)
    if not replace:
        result = hub.append(key, items, 0)  # a missing key starts the list
        if result.outcome is Outcome.NOT_A_LIST:
            return False
    else:
        whole = codec.list_blob(*codec.join_items(items))
        now = hub.store.read(key)
        if now.bodies is None or now.blob != whole:
            # Stored first as a plain value with the list's content, then turned
            # into the list: readers see the restored value at every moment.
            hub.set(key, whole)
            if not hub.convert(key, whole, items, 0).changed:
                raise Failure(f"{key!r} changed while it was being restored; run restore again")
    hub.expire(key, ttl)
    return True


def cmd_watch(hub: Hub, args: argparse.Namespace) -> int:
    keys = [_key(k) for k in args.keys]
    hub.store.sync_state([])  # an unreachable Redis fails here, at once
    hub.start()
    # Subscribed before the watch starts, so changes from here on arrive as
    # notifications, not as a "resynced" after the first subscription.
    hub.listener.wait_synced(hub.settings.call_bound)
    state = ServerState(lambda: hub)
    watch = state.watch(*keys, timeout=args.timeout)
    what = ", ".join(repr(k) for k in keys) if keys else "every key"
    _note(f"watching {what} of {_where(hub)}; Ctrl-C stops")
    previous = _on_sigterm(_interrupt)
    try:
        for event in watch:
            _out(_event_line(hub, event, args))
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass  # Ctrl-C (or SIGTERM) is how a watch ends: a success
    finally:
        _on_sigterm(previous)
        watch.close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler; returns the previous one (None outside the main thread)."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (main() called from a thread): leave it be
        return None


def _event_line(hub: Hub, event: Event, args: argparse.Namespace) -> str:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    now = now.replace("+00:00", "Z")
    if not isinstance(event, Changed):
        if args.json:
            return json.dumps({"time": now, "event": "resynced", "keys": list(event.keys)})
        return f"{now}  resynced  missed notifications; {len(event.keys)} keys changed meanwhile"
    record: dict[str, Any] = {
        "time": now,
        "event": "changed",
        "key": event.key,
        "version": event.version,
        "quiet": event.quiet,
    }
    shown = ""
    if args.values:
        blob = hub.read(event.key, subscribe=False).blob
        if blob is None:
            record["deleted"] = True
            shown = "  (deleted)"
        else:
            try:
                value = codec.decode(blob, key=event.key)
                record["value"] = json.loads(tagged_dumps(value, indent=None))
                shown = "  = " + tagged_dumps(value, indent=None)
            except (ServerStateError, TaggedJSONError) as exc:
                record["error"] = str(exc)
                shown = f"  ({exc})"
    if args.json:
        return json.dumps(record, ensure_ascii=False)
    quiet = " (no_rerun)" if event.quiet else ""
    return f"{now}  changed  {_shown_key(event.key)}  v{event.version}{quiet}{shown}"


def cmd_status(hub: Hub, args: argparse.Namespace) -> int:
    records: list[dict[str, Any]] = []
    for text in hub.store.processes():
        try:
            record = json.loads(text)
        except ValueError:
            logger.warning("a process record is not JSON: %.80r", text)
            continue
        if isinstance(record, dict):
            records.append(record)
    records.sort(key=lambda r: (str(r.get("host", "")), str(r.get("pid", ""))))
    if args.json:
        _out(json.dumps(records, indent=2, ensure_ascii=False))
        return 0
    if not records:
        _note(f"no process is attached to {_where(hub)}")
        return 0
    rows = []
    for r in records:
        listener = r.get("listener") if isinstance(r.get("listener"), dict) else {}
        assert isinstance(listener, dict)
        state = "synced" if listener.get("synced") else "NOT SYNCED"
        state += f", seq {listener.get('sequence')}, {listener.get('resyncs', 0)} resyncs"
        cache = f"{r.get('cache_entries', '?')} ({_size(int(r.get('cache_bytes') or 0))})"
        rows.append(
            [
                str(r.get("id", "?")),
                str(r.get("host", "?")),
                str(r.get("pid", "?")),
                str(r.get("kind", "?")),
                str(r.get("sessions", "?")),
                str(r.get("subscriptions", "?")),
                cache,
                state,
                str(r.get("started", "?")),
                str(r.get("version", "?")),
            ]
        )
    headers = ["ID", "HOST", "PID", "KIND", "SESSIONS", "SUBSCRIPTIONS", "CACHE", "LISTENER"]
    _out(_table([*headers, "STARTED", "VERSION"], rows, {2, 4, 5}))
    return 0


def cmd_clear(hub: Hub, args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError(f"clear deletes every key of {_where(hub)}; add --yes to do it")
    deleted = sum(1 for key in hub.store.keys() if hub.delete(key).changed)
    _note(f"deleted {deleted} keys of {_where(hub)}")
    return 0


# -- the parser -------------------------------------------------------------------------


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    # The common options are accepted before or after the command; SUPPRESS
    # keeps a subcommand's parser from resetting one given before it.
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where the state lives")
    where.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="redis://, rediss:// or unix:// URL (default: $STREAMLIT_REDIS_STATE_URL, "
        "then url in [connections.redis_state] of .streamlit/secrets.toml)",
    )
    where.add_argument(
        "--namespace",
        default=argparse.SUPPRESS,
        help="the app's namespace (default: $STREAMLIT_REDIS_STATE_NAMESPACE, then secrets.toml, "
        "then 'default')",
    )
    where.add_argument(
        "--connection",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="read [connections.NAME] of secrets.toml, for an st.connection of that name",
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[common],
        description="Inspect and operate the shared state of streamlit_redis_state apps. "
        "Writes go through the library's scripts, so every replica's sessions rerun.",
        epilog="Values are tagged JSON: tuples, sets, bytes, datetimes, Decimals, UUIDs and "
        'big ints are objects such as {"$tuple": [1, 2]} (see the README). '
        "Exit status: 0 done, 1 failed, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[Hub, argparse.Namespace], int], text: str) -> Any:
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(run=run)
        return p

    p = command("keys", cmd_keys, "list the keys: kind, items, bytes, version, lifetime left")
    p.add_argument("--json", action="store_true", help="a JSON array instead of a table")

    p = command("get", cmd_get, "print a key's value as tagged JSON")
    p.add_argument("key")
    p.add_argument("--compact", action="store_true", help="on one line")

    p = command("set", cmd_set, "store a value given as tagged JSON ('-': read stdin)")
    p.add_argument("key")
    p.add_argument("json", metavar="JSON")
    p.add_argument("--ttl", type=_positive, metavar="SECONDS", help="delete it after this long")

    p = command("del", cmd_del, "delete a key (exit status 1 if it is missing)")
    p.add_argument("key")

    p = command("dump", cmd_dump, "write every key, as stored, to a file ('-': stdout)")
    p.add_argument("file", metavar="FILE")

    p = command(
        "restore",
        cmd_restore,
        "write the keys of a dump file; refuses (writing nothing) if one exists, "
        "unless --replace or --skip-existing",
    )
    p.add_argument("file", metavar="FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--replace", action="store_true", help="overwrite keys that exist")
    mode.add_argument("--skip-existing", action="store_true", help="keep keys that exist")

    p = command("watch", cmd_watch, "print changes as they happen, one line each (Ctrl-C stops)")
    p.add_argument("keys", nargs="*", metavar="KEY", help="keys to watch (default: every key)")
    p.add_argument("--values", action="store_true", help="print each new value too")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--timeout", type=_positive, metavar="SECONDS", help="stop after this long without a change"
    )

    p = command("status", cmd_status, "list the processes attached to the namespace")
    p.add_argument("--json", action="store_true", help="their status records as a JSON array")

    p = command("clear", cmd_clear, "delete every key of the namespace")
    p.add_argument("--yes", action="store_true", help="really do it")
    return parser


# -- main -----------------------------------------------------------------------------


class _StderrHandler(logging.Handler):
    """Library warnings as one line each on whatever stderr is now."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{PROG}: {record.levelname.lower()}: {record.getMessage()}\n")
        except Exception:  # logging must never break the command
            self.handleError(record)


def _error(message: object) -> None:
    text = " ".join(str(message).split())  # one line, whatever the exception held
    sys.stderr.write(f"{PROG}: error: {text}\n")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; returns the exit status (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    package = logging.getLogger(__name__.rsplit(".", 1)[0])
    handler = _StderrHandler(logging.WARNING)
    package.addHandler(handler)
    try:
        settings = settings_from(args)
        hub = Hub(settings, bridge=NoSession())
        try:
            code: int = args.run(hub, args)
            return code
        finally:
            hub.close()
    except (UsageError, ConfigurationError) as exc:
        _error(exc)
        return 2
    except BrokenPipeError:
        # Whoever read stdout went away (`... | head`): stop quietly.
        _silence_stdout()
        return 1
    except (Failure, ServerStateError, DumpError) as exc:
        _error(exc)
        return 1
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        package.removeHandler(handler)


__all__ = ["PROG", "build_parser", "main", "settings_from"]
