"""Nothing in the package can turn bytes from Redis into code."""

from __future__ import annotations

import ast
from pathlib import Path

import streamlit_redis_state

PACKAGE = Path(streamlit_redis_state.__file__).parent
FORBIDDEN_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "jsonpickle",
    "yaml",
}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}


def test_package_never_unpickles_evals_or_execs() -> None:
    offences: list[str] = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 10
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                offences += [
                    f"{where} import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in FORBIDDEN_MODULES
                ]
            elif (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] in FORBIDDEN_MODULES
            ):
                offences.append(f"{where} from {node.module} import")
            elif isinstance(node, ast.Call):
                fn = node.func
                builtin = isinstance(fn, ast.Name) and fn.id in FORBIDDEN_CALLS
                via_builtins = (
                    isinstance(fn, ast.Attribute)
                    and fn.attr in FORBIDDEN_CALLS
                    and isinstance(fn.value, ast.Name)
                    and fn.value.id == "builtins"
                )
                if builtin or via_builtins:
                    offences.append(f"{where} {ast.unparse(fn)}()")
    assert offences == []
