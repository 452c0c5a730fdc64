"""`make demo`: the multi-replica topology on one machine, without Docker.

redis-server, N `streamlit run` replicas and nginx in front, all on loopback,
the same shape as docker-compose.yml. What is missing degrades and says so:
no nginx prints the replica URLs; no redis-server runs one replica on the
embedded store. With the chat, its bot runs too (examples/chat/bot.py).
Taken ports are replaced by free ones. Ctrl-C stops everything this
started (by pid); the logs are kept, and their paths printed.

    python -m support.demo [--replicas 2] [--port 8500] [--redis-port 6400]
                           [--app examples/app.py] [--no-bot] [--logs DIR]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from support.topology import DEFAULT_APP, ROOT, Topology


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--replicas", type=int, default=int(os.environ.get("DEMO_REPLICAS", 2)))
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DEMO_PORT", 8500)),
        help="nginx listens here; replicas on the next ports (free ones if taken)",
    )
    p.add_argument(
        "--redis-port",
        type=int,
        default=int(os.environ.get("DEMO_REDIS_PORT", 0)),
        help="redis-server listens here (a free port if taken or not given)",
    )
    p.add_argument("--app", default=os.environ.get("DEMO_APP", str(ROOT / DEFAULT_APP)))
    p.add_argument(
        "--no-bot",
        dest="bot",
        action="store_false",
        help="do not start the chat's bot (examples/chat/bot.py)",
    )
    p.add_argument(
        "--logs",
        default=os.environ.get("DEMO_LOGS"),
        help="folder for the logs (default: demo-logs/<date-time>/); kept after exit",
    )
    p.add_argument(
        "--for-seconds", type=float, default=0, help="stop by itself after this long (for tests)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    topology = Topology(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        topology.start()
        if args.for_seconds:
            time.sleep(args.for_seconds)
        else:
            bot_said = False
            while all(p.poll() is None for p in topology.essential):
                if topology.bot is not None and topology.bot.poll() is not None and not bot_said:
                    bot_said = True
                    print(
                        f"the bot exited (see {topology.logdir / 'bot.log'}); "
                        "the chat goes on without emoji"
                    )
                time.sleep(0.5)
            print("a demo process exited; stopping the rest")
    except KeyboardInterrupt:
        print("\nstopping...")
    finally:
        topology.stop()
        print(f"logs kept in {topology.logdir}/")


if __name__ == "__main__":
    main()
