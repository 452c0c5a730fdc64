"""The chat page's pieces that are not Streamlit's own: two small components and safe HTML.

User text (room names, nicknames, messages) never goes through Markdown:
Streamlit's Markdown turns ``**x**``, ``:red[x]`` and bare URLs into bold,
colour and live links even when escaped. It is drawn with ``st.text``, with
HTML whose every user character went through :func:`html.escape`, or by the
components below, which set ``textContent``.

Components are registered here, once per process (a module is imported
once), not on every run of the page.
"""

from __future__ import annotations

import html

import chat_core as core
import streamlit as st

# -- the room list: a component, so room names stay text ----------------------

_ROOMS_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let list = parentElement.querySelector("nav");
  if (!list) {
    list = document.createElement("nav");
    list.setAttribute("aria-label", "Rooms");
    parentElement.appendChild(list);
  }
  list.replaceChildren();
  for (const room of data.rooms) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.room = room.id;
    button.setAttribute("aria-label", room.name);
    button.title = room.name;
    const hash = document.createElement("span");
    hash.className = "hash";
    hash.textContent = "#";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = room.name;  // text, never markup
    button.append(hash, name);
    if (room.online > 0) {
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = String(room.online);
      count.title = room.online + " online";
      button.append(count);
    }
    if (room.id === data.current) {
      button.classList.add("current");
      button.setAttribute("aria-current", "page");
    }
    button.addEventListener("click", () => setTriggerValue("picked", room.id));
    list.appendChild(button);
  }
}
"""

_ROOMS_CSS = """
nav { display: flex; flex-direction: column; gap: 2px; }
button {
  all: unset; box-sizing: border-box; display: flex; align-items: center; gap: 0.4rem;
  width: 100%; padding: 0.3rem 0.6rem; border-radius: 0.5rem; cursor: pointer;
  font-family: var(--st-font, "Source Sans Pro", sans-serif); font-size: 1rem;
  color: var(--st-text-color, #31333f);
}
button:hover { background: rgba(151, 166, 195, 0.15); }
button:focus-visible { outline: 2px solid var(--st-primary-color, #ff4b4b); }
button.current { background: rgba(151, 166, 195, 0.25); font-weight: 600; }
.hash { opacity: 0.45; }
.name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.count {
  font-size: 0.75rem; min-width: 1.2rem; padding: 0 0.35rem; border-radius: 0.6rem;
  text-align: center; background: rgba(33, 195, 84, 0.18); color: #177233;
}
"""

room_list = st.components.v2.component("chat_rooms", js=_ROOMS_JS, css=_ROOMS_CSS)

# -- "is typing": reports when this browser types in the chat input -------------

# State lives on window, not in the function: Streamlit calls the function again
# on each run of the fragment that mounts it, and a timer must survive that.
_TYPING_JS = """
export default function (component) {
  const g = (window.__srsChatTyping ??= { typing: false, timer: null, report: null });
  g.report = (value) => {
    if (value !== g.typing) {
      g.typing = value;
      component.setStateValue("typing", value);
    }
  };
  if (!g.installed) {
    g.installed = true;
    const isChatInput = (t) => t && t.matches && t.matches('[data-testid="stChatInputTextArea"]');
    document.addEventListener("input", (e) => {
      if (!isChatInput(e.target)) return;
      clearTimeout(g.timer);
      if (e.target.value.trim()) {
        g.report(true);
        g.timer = setTimeout(() => g.report(false), %(idle_ms)d);
      } else {
        g.report(false);
      }
    }, true);
    document.addEventListener("keydown", (e) => {
      if (isChatInput(e.target) && e.key === "Enter" && !e.shiftKey) {
        clearTimeout(g.timer);
        g.report(false);  // sent
      }
    }, true);
  }
}
"""

TYPING_IDLE_SECONDS = 3
typing_reporter = st.components.v2.component(
    "chat_typing", js=_TYPING_JS % {"idle_ms": TYPING_IDLE_SECONDS * 1000}
)

# -- HTML with every user character escaped -------------------------------------

CSS = """
<style>
.chat-title { font-size: 1.9rem; font-weight: 700; line-height: 1.2; margin: 0; word-break: break-word; }
.chat-title .hash { opacity: 0.35; margin-right: 0.25rem; }
.chat-sub { color: rgba(49, 51, 63, 0.6); font-size: 0.9rem; }
.chat-people { display: flex; flex-wrap: wrap; gap: 0.35rem; align-items: center; }
.chat-chip { display: inline-flex; align-items: center; gap: 0.3rem; padding: 0.1rem 0.55rem 0.1rem 0.15rem;
  border-radius: 1rem; background: rgba(151, 166, 195, 0.15); font-size: 0.88rem; }
.chat-chip.me { background: rgba(151, 166, 195, 0.3); }
.chat-you { color: rgba(49, 51, 63, 0.55); }
.chat-dot { display: inline-flex; align-items: center; justify-content: center; width: 1.35rem; height: 1.35rem;
  border-radius: 50%; color: #fff; font-size: 0.62rem; font-weight: 700; letter-spacing: -0.02em; }
.chat-meta { display: flex; align-items: baseline; gap: 0.5rem; line-height: 1.3; }
.chat-who { font-weight: 600; }
.chat-when { color: rgba(49, 51, 63, 0.55); font-size: 0.8rem; }
.chat-mood { font-size: 1rem; cursor: default; }
.chat-mood.quiet { opacity: 0.45; }
.chat-typing { color: rgba(49, 51, 63, 0.6); font-size: 0.85rem; font-style: italic; min-height: 1.3rem; }
.chat-empty { color: rgba(49, 51, 63, 0.55); text-align: center; padding: 2rem 0; }
.chat-bot { display: flex; gap: 0.5rem; align-items: flex-start; font-size: 0.88rem;
  color: rgba(49, 51, 63, 0.75); line-height: 1.35; }
.chat-bot .face { font-size: 1.4rem; line-height: 1; }
.chat-bot .face, .chat-mood {
  font-family: "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", sans-serif; }
.chat-bot[data-state="away"] .face { filter: grayscale(1); opacity: 0.6; }
.st-key-pane { height: calc(100vh - 20rem) !important; min-height: 16rem;
  border-top: 1px solid rgba(49, 51, 63, 0.1); }
[data-testid="stChatMessage"] { padding-top: 0.3rem; padding-bottom: 0.3rem; }
[data-testid="stChatMessageContent"] [data-testid="stVerticalBlock"] { gap: 0.1rem; }
.st-key-pane [data-testid="stText"] { white-space: pre-wrap; word-break: break-word; }
</style>
"""


def e(text: str) -> str:
    """User text made safe for HTML: every ``<``, ``>``, ``&`` and quote escaped."""
    return html.escape(text, quote=True)


def chip(nickname: str, me: bool = False) -> str:
    you = '<span class="chat-you">(you)</span>' if me else ""
    return (
        f'<span class="chat-chip{" me" if me else ""}">'
        f'<span class="chat-dot" aria-hidden="true" style="background:{core.colour(nickname)}">'
        f'{e(core.initials(nickname))}</span><span class="chat-name">{e(nickname)}</span>'
        f"{you}</span>"
    )


def people(online: list[tuple[str, str]], my_uid: str) -> str:
    if not online:
        return '<div class="chat-sub">Nobody is here yet.</div>'
    chips = "".join(chip(nick, uid == my_uid) for uid, nick in online)
    return f'<div class="chat-people" data-testid="chat-online">{chips}</div>'


def title(room: core.Room) -> str:
    creator = room.get("by_name")
    by = f"created by {e(creator)}" if creator else ""
    sub = f'<div class="chat-sub">{by}</div>' if by else ""
    return (
        f'<div data-testid="chat-room-title"><p class="chat-title"><span class="hash">#</span>'
        f"{e(room['name'])}</p>{sub}</div>"
    )


def meta(message: core.Message, when: str, iso: str, mood: core.Mood | None) -> str:
    badge = ""
    if mood is not None:
        words = core.MOOD_WORDS.get(mood["emoji"], "")
        badge = (
            f'<span class="chat-mood{" quiet" if mood["emoji"] == "😐" else ""}" '
            f'data-testid="chat-mood" title="moodbot: {e(words)} '
            f'({mood["score"]:+.2f})">{e(mood["emoji"])}</span>'
        )
    return (
        f'<div class="chat-meta" data-message="{e(message["id"])}">'
        f'<span class="chat-who" style="color:{core.colour(message["who"])}">{e(message["who"])}</span>'
        f'<time class="chat-when" datetime="{e(iso)}">{e(when)}</time>{badge}</div>'
    )


def bot(online: bool) -> str:
    state, words = (
        ("online", "adds a mood emoji to each message")
        if online
        else ("away", "is away: emoji appear when it is back")
    )
    return (
        f'<div class="chat-bot" data-testid="chat-bot" data-state="{state}">'
        f'<span class="face">🤖</span><span><b>moodbot</b> {words}</span></div>'
    )


def typing(line: str) -> str:
    return f'<div class="chat-typing" data-testid="chat-typing">{e(line)}</div>'
