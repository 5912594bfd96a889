"""``sharehouse serve`` in a real browser: Debian's chromium, headless, driven by playwright.

One ``sharehouse serve`` process (the packaged small model in llama-cpp-python's server, a fresh
DuckDB file) serves the module's tests. Each participant is a browser context of its own (its own
cookies and websocket, so its own game process). The page draws the terminal on a canvas; the tests
read what the game sends (the websocket's frames, escape sequences stripped) to know where the
game is, and check what matters in the store.

- A participant gives consent, gets a resume code, answers the first question: the turn is in the
  store, under their participant's session. Closing the page ends their game; opening it again with
  the code continues it. A screenshot of the served page is written (``SHAREHOUSE_SERVE_SCREENSHOT``
  names where; ``docs/serve.png`` is one).
- A second participant cannot reach the first one's game, whatever they type: the first's nickname,
  garbage or a made-up code open nothing, and nothing of the first's game reaches their screen.
- Hostile input through the browser (typed markup, a paste with terminal escapes and control
  characters longer than the reply cap, a bogus terminal size, malformed messages) is stored as the
  terminal stores it (``tests/test_rel_hostile.py``): clean and capped, markup as plain text.

Without /usr/bin/chromium the module is skipped, unless ``SHAREHOUSE_REQUIRE_BROWSER=1`` (set by
``.ci/run``), which makes it fail instead.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from faultserver import start_serve
from test_rel_hostile import ESC_OR_CONTROL

from sharehouse.store import SessionRecord, Store, TurnRecord
from sharehouse.study.codes import CODE_ALPHABET
from sharehouse.study.consent import consent_text
from sharehouse.study.participants import Participant, find_by_code
from sharehouse.textclean import MAX_INPUT_CHARS
from sharehouse.tui.i18n import t

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = "SHAREHOUSE_REQUIRE_BROWSER"
SCREENSHOT = "SHAREHOUSE_SERVE_SCREENSHOT"
# Without the last five, chromium keeps trying to reach Google's services (a closed network floods).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 800}
#: Seconds for a model step (a housemate line, a reply check) on a loaded two-core machine.
MODEL_WAIT_S = 600.0
#: Seconds for the game to draw what a key or a stored line makes it draw, on that machine.
SCREEN_WAIT_S = 90.0
#: Between two looks at the store (each takes the file's turn from the server's game processes).
STORE_POLL_S = 1.0
ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")
CODE = re.compile(f"[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}")
# Keeps the page's own websocket reachable, so a test can send what a hostile client would send.
KEEP_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__gameSockets = [];
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    window.__gameSockets.push(socket);
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();
"""

if not CHROMIUM.exists():
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(
            f"{REQUIRE_BROWSER}=1 but there is no {CHROMIUM} (apt-get install chromium)", pytrace=False
        )
    pytest.skip(
        f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium; CI requires it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

pytestmark = pytest.mark.model


# -- the server -----------------------------------------------------------------------------------
@dataclass
class Served:
    url: str
    db: Path
    proc: subprocess.Popen[str]
    log: Path

    def store(self) -> Store:
        return Store(self.db, shared=True)

    def session_of(self, code: str) -> tuple[Participant, SessionRecord]:
        with self.store() as store:
            participant = find_by_code(store, code)
            assert participant is not None, f"no participant with code {code}"
            session = store.get_session(participant.session_id)
        assert session is not None
        return participant, session

    def turns(self, session_id: str) -> list[TurnRecord]:
        with self.store() as store:
            return store.load_turns(session_id)

    def wait_turns(self, session_id: str, n: int, timeout: float = MODEL_WAIT_S) -> list[TurnRecord]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            turns = self.turns(session_id)
            if len(turns) >= n:
                return turns
            time.sleep(1.0)
        raise AssertionError(f"session {session_id} has not {n} turns after {timeout:.0f} s; see {self.log}")

    def pending(self, session_id: str) -> str | None:
        """The housemate's line waiting for the reply, if any."""
        with self.store() as store:
            rec = store.get_session(session_id)
        return rec.pending_message if rec is not None else None

    def wait_pending(self, session_id: str, timeout: float = MODEL_WAIT_S) -> str:
        """Until the housemate's line waits for the reply (the engine stores it first); the line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.pending(session_id)
            if line:
                return line
            time.sleep(STORE_POLL_S)
        raise AssertionError(
            f"no housemate line for session {session_id} after {timeout:.0f} s; see {self.log}"
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    db = tmp / "study.duckdb"
    log = tmp / "serve.log"
    proc, port = start_serve(["--db", str(db), "--model", "local:small"], log, timeout_s=300)
    yield Served(f"http://127.0.0.1:{port}/", db, proc, log)
    # SIGTERM stops the web server, every game and the model server.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert "model server stopped." in text
    model_pid = int(re.search(r"\(pid (\d+)\)", text).group(1))  # type: ignore[union-attr]
    assert not Path(f"/proc/{model_pid}").exists(), "the model server outlived serve"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# -- one participant's browser ----------------------------------------------------------------------
@dataclass
class BrowserParticipant:
    """One browser context on the served page: its keyboard and what the game has drawn."""

    page: Page
    received: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: Any) -> None:
        self.received.extend(payload if isinstance(payload, bytes) else payload.encode("utf-8"))

    def mark(self) -> int:
        return len(self.received)

    def text(self, since: int = 0) -> str:
        """What the game drew since ``since``, escape sequences removed."""
        return ESCAPE.sub("", bytes(self.received[since:]).decode("utf-8", "replace"))

    def until(
        self, done: Callable[[], Any], what: str, since: int = 0, timeout: float = SCREEN_WAIT_S
    ) -> Any:
        """``done()``'s first true value, looked for until ``timeout``; else fail, showing ``what`` was
        awaited and what the game drew since ``since``."""
        deadline = time.monotonic() + timeout
        while True:
            result = done()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: not within {timeout:.0f} s; drawn: {self.text(since)[-1500:]!r}"
                )
            self.page.wait_for_timeout(200)  # the sync API delivers websocket frames while it waits

    def drawn(self, pattern: str | re.Pattern[str], since: int = 0) -> str | None:
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        found = regex.search(self.text(since))
        return found.group(0) if found else None

    def wait_for(self, pattern: str | re.Pattern[str], since: int = 0, timeout: float = SCREEN_WAIT_S) -> str:
        return self.until(lambda: self.drawn(pattern, since), f"{pattern!r} drawn", since, timeout)

    def wait_line(self, line: str, since: int) -> None:
        """Until the end of the housemate's ``line`` is on the page (the chat wraps it, so its last
        words are looked for one by one; they are drawn once the whole line is)."""
        for word in re.findall(r"[^\W\d_]{4,}", line)[-2:]:
            self.wait_for(word, since)

    def press(self, *keys: str) -> None:
        """Keys reach the game in order, one websocket message each: no pause is needed between."""
        for key in keys:
            self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text, delay=5)

    def send(self, message: object) -> None:
        """A message on the page's own websocket, as a client that skips xterm.js could send it."""
        self.page.evaluate(
            "m => window.__gameSockets[0].send(typeof m === 'string' ? m : JSON.stringify(m))", message
        )

    def start_screen(self) -> None:
        """Until the first screen is drawn (its button "I'm new" has the focus from its mount on)."""
        self.wait_for(t("participant.new", "en"))

    def enrol(self, nickname: str) -> str:
        """I'm new -> consent (agree) -> nickname -> the resume code, returned; then the game."""
        self.start_screen()
        mark = self.mark()
        self.press("Enter")  # "I'm new" has the focus
        self.wait_for(t("participant.agree", "en"), mark)
        mark = self.mark()
        self.press("Tab", "Enter")  # from the text to "I agree"
        self.wait_for(t("participant.nickname_title", "en"), mark)
        self.fill(nickname)
        mark = self.mark()
        self.press("Enter")
        self.wait_for(t("participant.code_title", "en"), mark)
        code = self.wait_for(CODE, mark)
        self.press("Enter")  # "I have written it down: start"
        return code

    def open_resume(self) -> None:
        self.start_screen()
        mark = self.mark()
        self.press("Tab", "Enter")  # from "I'm new" to "I have a resume code"
        self.wait_for(t("participant.resume_title", "en"), mark)

    def fill(self, text: str, attempts: int = 3) -> None:
        """Empty the focused one-line box and type ``text`` in it, until the box shows it.

        Keys typed just after the resume dialog opened were seen lost or out of order under load
        (a code's first half only, or its halves swapped), so the box is checked and, if it does not
        show the text, emptied and typed again."""
        for attempt in range(1, attempts + 1):
            self.press("End", *["Backspace"] * 45)
            mark = self.mark()
            self.type(text)
            try:
                self.wait_for(text, mark, timeout=SCREEN_WAIT_S / attempts)
                return
            except AssertionError:
                if attempt == attempts:
                    raise

    def try_code(self, text: str) -> int:
        """Type ``text`` in the resume code box and send it; the box is emptied first.

        Text with an escape goes to the game in one message, as a terminal sends it: typed key by
        key, the escape alone would be the Escape key (closing the box) whenever the rest came more
        than Textual's ESCDELAY (100 ms) after it, which a loaded machine decides."""
        if "\x1b" in text:
            self.press("End", *["Backspace"] * 45)
            mark = self.mark()
            self.send(["stdin", text])
        else:
            self.fill(text)
            mark = self.mark()
        self.press("Enter")
        return mark

    def reply(self, served: Served, session_id: str, text: str, *, typed: bool = True) -> None:
        """Once the housemate's line waits, send ``text`` (typed, or already in the box when not);
        return once the game took it: it says the housemate is reading it, or the turn is stored."""
        served.wait_pending(session_id)
        stored = len(served.turns(session_id))
        if typed:
            self.type(text)
        start = self.mark()
        not_yet = t("game.wait", "en", name="\0").split("\0")[0]  # "Please wait for ..."
        reading = t("game.checking", "en", name="\0").split("\0")[1]  # "... is reading your reply"
        empty = t("game.empty_reply", "en")
        looked = [0.0]

        def taken() -> bool:
            if reading in self.text(start):
                return True
            if time.monotonic() - looked[0] < STORE_POLL_S:
                return False
            looked[0] = time.monotonic()
            return len(served.turns(session_id)) > stored

        deadline = time.monotonic() + SCREEN_WAIT_S
        while time.monotonic() < deadline:
            mark = self.mark()
            self.press("Enter")
            # Each Enter is answered: taken, "please wait" (the game is not waiting yet: again), or
            # "type a reply first" (the box is empty: the reply was taken by an earlier Enter).
            self.until(
                lambda: taken() or self.drawn(not_yet, mark) or self.drawn(empty, mark),  # noqa: B023
                "the game's answer to Enter",
                start,
            )
            if taken() or self.drawn(empty, mark):
                break
        else:
            raise AssertionError(
                f"the game said {not_yet!r} for {SCREEN_WAIT_S:.0f} s; drawn: {self.text(start)[-1500:]!r}"
            )
        self.until(taken, f"the reply taken (drawn {reading!r} or a turn stored)", start, MODEL_WAIT_S)

    def close(self) -> None:
        self.page.context.close()


def open_participant(browser: Browser, served: Served) -> BrowserParticipant:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(KEEP_SOCKETS)
    page = context.new_page()
    participant = BrowserParticipant(page)
    page.goto(served.url)
    page.wait_for_selector("body.-first-byte", timeout=SCREEN_WAIT_S * 1000)
    page.locator(".xterm-helper-textarea").focus()  # where xterm.js takes the keyboard
    return participant


# -- the tests --------------------------------------------------------------------------------------
def test_participant_consents_and_plays_the_first_question(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    alice = open_participant(browser, served)
    code = alice.enrol("alice")
    participant, session = served.session_of(code)
    assert session.user_id == participant.id and session.source == "study" and session.kind == "human"
    assert participant.nickname == "alice" and participant.consent_version == consent_text("en").version
    answer = "I would keep it quiet and enjoy it privately, maybe tell only my family."
    mark = alice.mark()  # the next line is drawn after this
    alice.reply(served, session.id, answer)
    (turn,) = served.wait_turns(session.id, 1)
    assert turn.response == answer and turn.day == 1 and turn.message
    assert turn.check_by == "llm"  # the judge ran on the shared model server
    alice.wait_for("keep it quiet")  # the reply is on the page too
    # The next line comes from the shared model server too (the day's first is the scenario's own).
    line = served.wait_pending(session.id)
    with served.store() as store:
        calls = store.fetchall("SELECT purpose, model FROM llm_calls WHERE session_id = ?", [session.id])
    assert {purpose for purpose, _ in calls} == {"check", "npc"}
    assert {model for _, model in calls} == {"litellm:openai/sharehouse-local"}
    shot = Path(os.environ.get(SCREENSHOT) or tmp_path / "serve.png")
    alice.wait_line(line, mark)
    alice.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    alice.close()

    # Closing the page ended the game; the code continues it, with the answer given.
    again = open_participant(browser, served)
    again.open_resume()
    mark = again.try_code(code.lower().replace("-", " "))
    again.wait_for("keep it quiet", mark, timeout=SCREEN_WAIT_S)
    assert len(served.turns(session.id)) >= 1
    again.close()


def test_second_participant_cannot_reach_the_first_ones_game(served: Served, browser: Browser) -> None:
    alice = open_participant(browser, served)
    alice_code = alice.enrol("alice-in-wonderland")
    _, alice_session = served.session_of(alice_code)
    secret = "Zanzibar marmalade is my secret recipe"
    alice.reply(served, alice_session.id, secret)
    served.wait_turns(alice_session.id, 1)

    bob = open_participant(browser, served)
    bob_code = bob.enrol("bob")
    _, bob_session = served.session_of(bob_code)
    assert bob_session.id != alice_session.id and bob_session.user_id != alice_session.user_id
    bob_line = served.wait_pending(bob_session.id)
    bob.close()
    # Bob comes back and types Alice's nickname, garbage, a made-up code: nothing opens.
    bob = open_participant(browser, served)
    bob.open_resume()
    made_up = "ABCD-EFGH" if alice_code != "ABCD-EFGH" else "2345-6789"
    refused = re.compile(f"{re.escape(t('participant.code_unknown', 'en'))}|That is not a resume code")
    for attempt in ("alice-in-wonderland", "alice", "' OR 1=1 --", "../../study.duckdb", "\x1b[2J", made_up):
        mark = bob.try_code(attempt)
        bob.wait_for(refused, mark)
    # His own code opens his own game.
    mark = bob.try_code(bob_code)
    bob.wait_for("Day 1", mark)
    bob.wait_line(bob_line, mark)  # his game is drawn, up to the line waiting for him
    drawn = bob.text()  # everything Bob's game drew (his own typing included)
    assert "Zanzibar" not in drawn and "marmalade" not in drawn and alice_code not in drawn
    # Alice's game is as she left it, and still hers.
    assert [turn.response for turn in served.turns(alice_session.id)][:1] == [secret]
    _, still = served.session_of(alice_code)
    assert still.user_id == alice_session.user_id
    alice.close()
    bob.close()


def test_hostile_input_through_the_browser_is_stored_as_in_the_terminal(
    served: Served, browser: Browser
) -> None:
    mallory = open_participant(browser, served)
    code = mallory.enrol("[bold red]mallory[/]")
    participant, session = served.session_of(code)
    assert participant.nickname == "[bold red]mallory[/]"  # markup is text, as typed
    served.wait_pending(session.id)
    # A client that skips xterm.js: a huge terminal, messages that are not the protocol.
    mallory.send(["resize", {"width": 10**7, "height": 10**7}])
    mallory.send("not json at all")
    mallory.send(["stdin"])
    mallory.send({"stdin": "x"})
    mallory.send(["resize", {"width": 142, "height": 38}])
    mallory.type("[bold]loud[/bold] <b>tags</b> ")
    # A paste with terminal escapes, control characters and bidi overrides, longer than the cap.
    hostile = (
        "\x1b[2J\x1b[31mI like \x1b]0;pwned\x07quiet evenings\x00\x08 at home\x1b[0m "
        "\u202eevil bidi\u202c zero\u200bwidth " + "x" * (MAX_INPUT_CHARS + 5000)
    )
    mallory.send(["stdin", "\x1b[200~" + hostile + "\x1b[201~"])
    mallory.reply(served, session.id, "", typed=False)
    (turn,) = served.wait_turns(session.id, 1)
    assert not ESC_OR_CONTROL.search(turn.response)
    assert len(turn.response) <= MAX_INPUT_CHARS
    assert turn.response.startswith("[bold]loud[/bold] <b>tags</b> ")  # markup kept as text
    # Textual reads an escape inside a paste as the keys "^" and "[" (in a terminal too): what is
    # stored is visible text, never a sequence a terminal would act on.
    assert "quiet evenings" in turn.response and "evil bidi" in turn.response
    mallory.close()
