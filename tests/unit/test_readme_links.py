"""README links are absolute, so the README renders on a package index as on the repository.

A package index shows the README without the repository around it: a relative
link (`docs/benchmarks.md`) goes nowhere there. Links into the repository start
with the Repository URL of pyproject.toml, the one place it is written.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_readme_link_is_absolute_and_into_the_declared_repository() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^Repository = "(https://[^"]+)"$', pyproject, re.M)
    assert match, "pyproject.toml declares no [project.urls] Repository"
    repository = match[1]
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme) + re.findall(r'src="([^"]+)"', readme)
    assert targets
    relative = [t for t in targets if not re.match(r"https?://|#|mailto:", t)]
    assert relative == [], f"relative links in README.md: {relative}"
    ours = [t for t in targets if t.startswith(repository + "/")]
    assert ours, f"no README link starts with {repository} (was the URL changed in one place?)"
    for target in ours:  # and each names a file that exists here
        path = re.sub(r"^/(?:blob|raw)/[^/]+/", "", target.removeprefix(repository))
        assert (ROOT / path.split("#")[0]).exists(), target
