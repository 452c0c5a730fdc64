"""A worker process for the memory benchmark: writes, reads and deletes distinct keys.

    python -m bench.workers.keys_worker URL NAMESPACE COUNT EVERY

Writes key k<i> (a small dict), reads it back, deletes it, for i < COUNT, and
prints its RSS (KiB) every EVERY keys as `rss <done> <kib>`, after a full
collection, so what is measured is what stays.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    url, namespace, count, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    from streamlit_redis_state import configure, server_state

    configure(url=url, namespace=namespace)
    payload = {"user": "alice", "score": 1, "tags": ["a", "b"], "text": "x" * 200}
    for i in range(count):
        key = f"key-{i:06d}"
        server_state[key] = {**payload, "score": i}
        assert server_state[key]["score"] == i
        del server_state[key]
        if (i + 1) % every == 0:
            gc.collect()
            print(f"rss {i + 1} {rss_kb()}", flush=True)


if __name__ == "__main__":
    main()
