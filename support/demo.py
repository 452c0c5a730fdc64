"""`make demo`: the multi-replica topology on one machine, without Docker.

redis-server, N `streamlit run` replicas and nginx in front, all on loopback,
the same shape as docker-compose.yml. What is missing degrades and says so:
no nginx prints the replica URLs; no redis-server runs one replica on the
embedded store. Ctrl-C stops everything this started (by pid).

    python -m support.demo [--replicas 2] [--port 8500] [--app examples/app.py]
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
    p.add_argument("--redis-port", type=int, default=int(os.environ.get("DEMO_REDIS_PORT", 0)))
    p.add_argument("--app", default=os.environ.get("DEMO_APP", str(ROOT / DEFAULT_APP)))
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
            while all(p.poll() is None for p in topology.procs):
                time.sleep(0.5)
            print("a demo process exited; stopping the rest")
    except KeyboardInterrupt:
        print("\nstopping...")
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
