"""The ``streamlit-redis-state`` command line: inspect and fix a namespace from a shell.

``commands`` holds the commands; ``tagged_json`` the JSON form of values
(with type tags where JSON has none); ``dumpfile`` the portable file of
``dump`` and ``restore``. It sits beside what apps import and uses the same
engine, so every write it makes reruns every replica's sessions.
"""

from .commands import main

__all__ = ["main"]
