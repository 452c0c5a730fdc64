"""Real processes for the tests, the benchmarks and `make demo`; not part of the shipped library.

One module per concern:

- `processes`: free ports, waiting, stopping by pid; `RedisServer` and
  `StreamlitServer` (a `streamlit run` replica, or an `st.App` under uvicorn).
- `sessions`: `HeadlessSession`, a websocket client of Streamlit's protocol
  that records every run the server pushes and uses widgets, fragments and
  pages as a browser does.
- `faultproxy`: `FaultProxy`, a TCP proxy that passes, silently drops
  (half-open link) or resets connections.
- `ha`: highly available Redis: `ClusterNodes` (a Redis Cluster of masters,
  replicas on demand, TLS, slot migration) and `SentinelGroup` (a primary, a
  replica and sentinels), of redis-server or valkey-server.
- `install-valkey.sh`: installs Debian's valkey-server (`make test` runs it).
- `topology`: the `make demo` topology (redis-server, N replicas, nginx),
  which the browser tier also starts and docker-compose.yml must agree with.
- `demo`: the `make demo` command line (`python -m support.demo`).

Nothing here is installed with the package (pyproject.toml packages only
`streamlit_redis_state`).
"""
