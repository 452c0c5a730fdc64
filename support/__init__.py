"""Real processes for the tests, the benchmarks and `make demo`; not part of the shipped library.

One module per concern:

- `processes`: free ports, waiting, stopping by pid; `RedisServer` and
  `StreamlitServer` (a `streamlit run` replica, or an `st.App` under uvicorn).
- `sessions`: `HeadlessSession`, a websocket client of Streamlit's protocol
  that records every run the server pushes and uses widgets, fragments and
  pages as a browser does.
- `faultproxy`: `FaultProxy`, a TCP proxy that passes, silently drops
  (half-open link) or resets connections.
- `topology`: the `make demo` topology (redis-server, N replicas, nginx),
  which the browser tier also starts and docker-compose.yml must agree with.
- `demo`: the `make demo` command line (`python -m support.demo`).

Nothing here is installed with the package (pyproject.toml packages only
`streamlit_redis_state`).
"""
