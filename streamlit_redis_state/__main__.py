"""``python -m streamlit_redis_state``: the command line (see :mod:`.cli`)."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
