"""`python -m build` makes an sdist and a wheel that install and work in a fresh venv.

Slow for a unit test (a build and a full install of the dependencies, about
40 s), so it has a tier of its own; `make test` runs it with the others.
The install pulls the declared dependencies only, so an import of something
undeclared fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(
    p.name for p in (ROOT / "streamlit_redis_state" / "edges" / "scripts").glob("*.lua")
)


def sh(*args: str | Path, cwd: Path | None = None) -> str:
    out = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, f"{args[:3]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The sdist and the wheel, built by `python -m build` (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    sh(sys.executable, "-m", "build", "--outdir", out, ROOT)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    yield sdist, wheel


def test_the_wheel_holds_the_scripts_the_types_and_the_license(dist: tuple[Path, Path]) -> None:
    _, wheel = dist
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = z.read(metadata).decode()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = z.read(entry_points).decode()
    for lua in SCRIPTS:
        assert f"streamlit_redis_state/edges/scripts/{lua}" in names
    assert "streamlit_redis_state/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "support/", "bench/")) for n in names)
    assert "License-Expression: MIT" in meta
    repository = re.search(r'^Repository = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert repository and f"Project-URL: Repository, {repository[1]}" in meta
    assert "streamlit-redis-state = streamlit_redis_state.cli:main" in scripts


def test_the_sdist_holds_what_a_build_needs(dist: tuple[Path, Path]) -> None:
    sdist, _ = dist
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert {"LICENSE", "README.md", "pyproject.toml", "streamlit_redis_state/py.typed"} <= names
    for lua in SCRIPTS:
        assert f"streamlit_redis_state/edges/scripts/{lua}" in names


def test_the_wheel_installs_and_runs_in_a_fresh_venv(
    dist: tuple[Path, Path], tmp_path: Path
) -> None:
    _, wheel = dist
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv)
    python, script = venv / "bin" / "python", venv / "bin" / "streamlit-redis-state"
    # --no-compile: byte-compiling the dependencies costs CPU and proves nothing here
    sh(python, "-m", "pip", "install", "-q", "--no-compile", wheel)
    check = """
import sys
import streamlit_redis_state as s
from streamlit_redis_state.edges import scripts
assert s.__file__.startswith(sys.prefix), s.__file__  # the installed copy, not the tree
assert "streamlit" not in sys.modules
for name in scripts.WITH_PRELUDE | scripts.PLAIN:
    assert scripts.source(name)
s.server_state["k"] = (1, {2})  # the embedded store: no Redis needed
assert s.server_state["k"] == (1, {2})
assert s.RedisStateConnection.__name__ == "RedisStateConnection"
print(s.__version__)
"""
    assert sh(python, "-c", check, cwd=tmp_path).strip()
    assert "dump" in sh(script, "--help", cwd=tmp_path)
    assert sh(python, "-m", "streamlit_redis_state", "--version", cwd=tmp_path).startswith(
        "streamlit-redis-state "
    )
