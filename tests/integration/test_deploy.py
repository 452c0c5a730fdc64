"""The nginx configuration `make demo` renders is one nginx accepts."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from support import topology
from support.processes import require_binary

pytestmark = pytest.mark.integration


def test_rendered_nginx_config_is_valid() -> None:
    nginx = require_binary("nginx")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        site = workdir / "site.conf"
        site.write_text(topology.render_nginx(["127.0.0.1:1", "127.0.0.1:2"], 8500))
        main = workdir / "nginx.conf"
        main.write_text(topology.nginx_main_conf(workdir, site))
        result = subprocess.run(
            [nginx, "-t", "-c", str(main), "-p", str(workdir)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
