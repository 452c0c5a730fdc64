"""moodbot: a plain Python process that adds a mood emoji to every chat message.

No Streamlit here: the bot takes part in the same ``server_state`` as the
pages, through Redis. It watches every key (``server_state.watch()``), and
when a room's messages change it reads the messages it has not annotated yet
(``server_state.tail``) and appends one annotation per message to the room's
``chat:moods:<room>`` list. It never writes a key that people write, so it
never races anyone posting.

Its place in each room is the last annotation it appended: that is in the
shared state, written in the same atomic append as the emoji, so a bot
killed at any moment loses nothing and does nothing twice. On start it
catches up with every room, then follows the changes.

Sentiment comes from VADER (the ``vaderSentiment`` package, in the ``demo``
extra), whose lexicon ships inside the package: nothing is downloaded.

    STREAMLIT_REDIS_STATE_URL=redis://127.0.0.1:6379/0 \\
    STREAMLIT_REDIS_STATE_NAMESPACE=demo python examples/chat/bot.py
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chat_core as core
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from streamlit_redis_state import (
    Changed,
    ServerStateError,
    server_state,
    server_state_lock,
)

logger = logging.getLogger("moodbot")

HEARTBEAT_EVERY = 2.0  # seconds between two renewals of chat:bot
HEARTBEAT_TTL = 6.0  # chat:bot disappears this long after the bot stops renewing it
CHUNK = 200  # annotations per append when catching up


class MoodBot:
    def __init__(self) -> None:
        self.analyzer = SentimentIntensityAnalyzer()
        self.stopping = threading.Event()
        self.started = dt.datetime.now(dt.timezone.utc)

    # -- one message, one room ------------------------------------------------

    def annotate(self, message: dict[str, Any]) -> core.Mood:
        text = str(message.get("text", ""))
        score = float(self.analyzer.polarity_scores(text)["compound"])
        return {"id": message["id"], "emoji": core.mood(score, text), "score": round(score, 3)}

    def unannotated(self, room_id: str, cursor: str | None) -> list[dict[str, Any]]:
        """The messages after ``cursor``, reading only as far back as needed."""
        key = core.messages_key(room_id)
        n = 16
        while True:
            newest = server_state.tail(key, n)
            ids = [m.get("id") if isinstance(m, dict) else None for m in newest]
            if cursor is not None and cursor in ids:
                found = newest[ids.index(cursor) + 1 :]
                break
            if len(newest) < n:
                # The whole room: nothing annotated yet, or the cursor was trimmed away
                # (every message kept is newer than it).
                found = newest
                break
            n *= 4
        return [m for m in found if core.is_message(m)]

    def catch_up(self, room_id: str) -> int:
        """Annotate the room's new messages; returns how many."""
        moods = core.moods_key(room_id)
        # One bot at a time per room: a second bot (or a restarted one whose old
        # self is still finishing) waits, then finds nothing left to do.
        with server_state_lock[moods]:
            last = server_state.tail(moods, 1)
            cursor = last[0]["id"] if last and isinstance(last[0], dict) else None
            todo = self.unannotated(room_id, cursor)
            for start in range(0, len(todo), CHUNK):
                chunk = [self.annotate(m) for m in todo[start : start + CHUNK]]
                server_state.append(moods, *chunk, max_len=core.KEPT)
        if todo:
            logger.info("room %s: %d new message(s) annotated", room_id, len(todo))
        return len(todo)

    def room_ids(self) -> list[str]:
        records = server_state.get(core.ROOMS, [])
        ids = [core.GENERAL_ID] + [r["id"] for r in records if isinstance(r, dict) and "id" in r]
        return list(dict.fromkeys(ids))

    # -- the process ------------------------------------------------------------

    def heartbeat(self) -> None:
        """Keep ``chat:bot`` alive while running; the pages show whether the bot is here."""
        value = {"name": "moodbot", "since": self.started}
        while not self.stopping.is_set():
            try:
                # The same value each time: it renews the lifetime and reruns nobody.
                server_state.set(core.BOT, value, ttl=HEARTBEAT_TTL)
            except ServerStateError as exc:
                logger.warning("heartbeat failed: %s", exc)
            self.stopping.wait(HEARTBEAT_EVERY)

    def run(self) -> None:
        beat = threading.Thread(target=self.heartbeat, name="moodbot-heartbeat", daemon=True)
        beat.start()
        logger.info("moodbot is watching the rooms")
        pending: set[str] = set()
        while not self.stopping.is_set():
            try:
                # The watch is opened before the catch-up, so no message posted
                # in between is missed; after an outage, every room is looked at.
                with server_state.watch() as watch:
                    pending.update(self.room_ids())
                    while not self.stopping.is_set():
                        for room_id in sorted(pending):
                            self.catch_up(room_id)
                            pending.discard(room_id)
                        event = watch.get(timeout=1.0)
                        if isinstance(event, Changed):
                            changed = core.room_of_messages_key(event.key)
                            if changed is not None:
                                pending.add(changed)
            except ServerStateError as exc:
                logger.warning("Redis unavailable (%s); will catch up when it is back", exc)
                self.stopping.wait(1.0)
        beat.join(HEARTBEAT_EVERY + 5)
        try:
            server_state.pop(core.BOT, None)  # say goodbye now rather than by expiry
        except ServerStateError:
            pass
        logger.info("moodbot stopped")


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )
    bot = MoodBot()

    def stop(signum: int, frame: FrameType | None) -> None:
        bot.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bot.run()


if __name__ == "__main__":
    main()
