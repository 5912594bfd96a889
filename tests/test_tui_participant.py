"""Participant mode of the game (a study), driven through Textual's pilot on real DuckDB files
opened shared, as ``sharehouse play --participant`` opens them.

No language model is needed: the flows stop where a housemate would first have to react to a reply,
or use the last question of day five, which is judged by rule. Declining stores nothing; agreeing
registers a participant whose id (never the nickname) keys their session and shows the resume code;
the code opens that session in another app on the same file; a wrong code reveals nothing and,
after a few, makes the next try wait; the evaluator, the saved-game list and the settings are not
there; the closing screen shows the code again and stores the questionnaire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, RadioButton, Select, Static, TextArea
from tui_helpers import SnapshotsDir, choose_option, wait_for
from typer.testing import CliRunner

from sharehouse.cli import _build
from sharehouse.llm import ChatModel
from sharehouse.scenario import Scenario
from sharehouse.store import Position, Store
from sharehouse.study import (
    AGE_BANDS,
    CONSENT_VERSION,
    StudyConfig,
    consent_text,
    find_by_code,
    register,
    withdraw,
)
from sharehouse.tui import SharehouseApp
from sharehouse.tui.i18n import t
from sharehouse.tui.messages import ShowContinue, ShowSettings
from sharehouse.tui.names import CONTINUE, EVALUATOR, GAME, PARTICIPANT, RUNS, SETTINGS, START
from sharehouse.tui.screens import GameScreen, HelpScreen, QuitScreen
from sharehouse.tui.screens.participant import (
    AGE_UNDISCLOSED,
    CodeGuard,
    ConsentScreen,
    DeclinedScreen,
    MbtiScreen,
    NicknameScreen,
    ParticipantClosingScreen,
    ParticipantStartScreen,
    ResumeCodeScreen,
    ResumeScreen,
)
from sharehouse.tui.widgets import ChatMessage, ReplyInput

SIZE = (120, 40)


def no_model(spec: str) -> ChatModel:
    raise AssertionError(f"participant mode's screens need no model (asked for {spec})")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "study.duckdb"


def participant_app(store: Store, scenario: Scenario, study: StudyConfig | None = None) -> SharehouseApp:
    return SharehouseApp(store, scenario, model_factory=no_model, participant=True, study=study)


def shown(screen: Any) -> str:
    """Every text the screen shows (statics, labels, buttons, options), one per line."""
    parts = [str(w.render()) for w in screen.query(Static)]
    parts += [str(b.label) for b in screen.query(Button)]
    for options in screen.query(OptionList):
        parts += [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    return "\n".join(parts)


def counts(store: Store) -> dict[str, int]:
    return {
        table: int(store.fetchone(f"SELECT count(*) FROM {table}")[0])  # type: ignore[index]
        for table in ("participants", "sessions", "turns", "llm_calls")
    }


async def enrol(pilot: Pilot, app: SharehouseApp, nickname: str, mbti: str | None = None) -> str:
    """Through the screens: I'm new, agree, (the MBTI type), the nickname; returns the code shown."""
    await pilot.click("#new-participant")
    await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
    await pilot.click("#agree")
    if mbti is not None:
        await wait_for(pilot, lambda: isinstance(app.screen, MbtiScreen))
        await choose_option(pilot, "mbti-choices", mbti)
    await wait_for(pilot, lambda: isinstance(app.screen, NicknameScreen))
    app.screen.query_one("#nickname", Input).value = nickname
    await pilot.click("#next")
    await wait_for(pilot, lambda: isinstance(app.screen, ResumeCodeScreen))
    assert isinstance(app.screen, ResumeCodeScreen)
    return app.screen.code


async def resume(pilot: Pilot, app: SharehouseApp, typed: str) -> None:
    if not isinstance(app.screen, ResumeScreen):
        await pilot.click("#have-code")
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeScreen))
    box = app.screen.query_one("#resume-code", Input)
    box.value = typed
    box.focus()
    await pilot.press("enter")
    await pilot.pause()


async def press_button(pilot: Pilot, button: Button) -> None:
    """Focus ``button`` (which scrolls it into sight) and press Enter on it (once the short effect of
    an earlier press is over: a button ignores presses meanwhile)."""
    button.focus()
    await wait_for(pilot, lambda: not button.has_class("-active"))
    await pilot.press("enter")
    await pilot.pause()


def resume_error(app: SharehouseApp) -> str:
    return str(app.screen.query_one("#resume-error", Static).render())


async def test_declining_stores_nothing_and_ends_the_game(db: Path, scenario: Scenario) -> None:
    with Store(db, shared=True) as store:
        before = counts(store)
        app = participant_app(store, scenario, StudyConfig(pre_mbti=True, post_questionnaire=True))
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, ParticipantStartScreen)
            await pilot.click("#lang-ja")
            await wait_for(pilot, lambda: app.lang == "ja")
            await pilot.click("#new-participant")
            await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
            consent = consent_text("ja")
            text = shown(app.screen)
            assert consent.title in text and consent.body in text and CONSENT_VERSION in text
            assert str(app.screen.query_one("#decline", Button).label) == t("participant.decline", "ja")
            await pilot.click("#decline")
            await wait_for(pilot, lambda: isinstance(app.screen, DeclinedScreen))
            assert t("participant.declined_text", "ja") in shown(app.screen)
            assert counts(store) == before
            await pilot.press("enter")
            await wait_for(pilot, lambda: not app.is_running)
        assert before == {"participants": 0, "sessions": 0, "turns": 0, "llm_calls": 0}
        assert counts(store) == before


async def test_back_from_consent_or_nickname_stores_nothing(db: Path, scenario: Scenario) -> None:
    with Store(db, shared=True) as store:
        app = participant_app(store, scenario)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#new-participant")
            await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
            await pilot.press("enter")  # the text has the focus: Enter does not agree
            await pilot.pause()
            assert isinstance(app.screen, ConsentScreen)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ParticipantStartScreen))
            await pilot.click("#new-participant")
            await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
            await pilot.click("#agree")  # no MBTI question in this study
            await wait_for(pilot, lambda: isinstance(app.screen, NicknameScreen))
            await pilot.press("space", "enter")  # a blank nickname is refused
            await pilot.pause()
            assert isinstance(app.screen, NicknameScreen)
            await pilot.click("#back")
            await wait_for(pilot, lambda: isinstance(app.screen, ParticipantStartScreen))
            assert app.is_running
        assert counts(store)["participants"] == 0 and counts(store)["sessions"] == 0


async def test_agreeing_registers_shows_the_code_and_another_app_resumes_with_it(
    db: Path, scenario: Scenario
) -> None:
    nickname = "[bold]Mika\x1b[31m"
    with Store(db, shared=True) as store:
        app = participant_app(store, scenario, StudyConfig(pre_mbti=True))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#lang-zh")
            await wait_for(pilot, lambda: app.lang == "zh")
            code = await enrol(pilot, app, nickname, mbti="INFP")
            assert code in shown(app.screen) and t("participant.code_text", "zh") in shown(app.screen)
            participant = find_by_code(store, code)
            assert participant is not None
            rows = store.list_sessions()
            assert [r.id for r in rows] == [participant.session_id]
            rec = rows[0]
            assert rec.user_id == participant.id and rec.user_id.startswith("p-")
            assert (rec.kind, rec.source, rec.language) == ("human", "study", "zh")
            assert participant.nickname == "[bold]Mika" and participant.self_mbti == "INFP"
            assert participant.consent_version == CONSENT_VERSION and participant.language == "zh"
            assert "Mika" not in participant.id and "Mika" not in rec.id and "Mika" not in rec.user_id
            assert app.resume_code == code and app.enrolled is not None and app.enrolled.id == participant.id

            await pilot.click("#code-done")
            await wait_for(pilot, lambda: isinstance(app.screen, GameScreen) and app.screen.awaiting)
            assert isinstance(app.screen, GameScreen) and app.screen.session.id == rec.id
            assert app.sub_title == "[bold]Mika"  # the nickname is shown, nothing more
            opener = scenario.state("d1_windfall").opener.zh
            assert opener in [m.body for m in app.screen.query(ChatMessage)]

            await pilot.press("ctrl+q")  # the quit question says which code continues the game
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
            assert code in str(app.screen.query_one("#quit-question", Static).render())
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.is_running)

    with Store(db, shared=True) as other:  # another game process on the same file
        again = participant_app(other, scenario, StudyConfig(pre_mbti=True))
        async with again.run_test(size=SIZE) as pilot:
            assert again.lang == "en"
            await resume(pilot, again, f"  {code.lower().replace('-', ' ')} ")  # as a person may type it
            await wait_for(pilot, lambda: isinstance(again.screen, GameScreen) and again.screen.awaiting)
            assert isinstance(again.screen, GameScreen) and again.screen.session.id == rec.id
            assert again.lang == "zh" and again.resume_code == code and again.sub_title == "[bold]Mika"
        assert counts(other)["participants"] == 1 and counts(other)["sessions"] == 1


async def test_a_wrong_code_reveals_nothing_and_a_few_make_the_next_try_wait(
    db: Path, scenario: Scenario
) -> None:
    now = [1000.0]
    with Store(db, shared=True) as store:
        study = StudyConfig()
        kept, code, rec = register(
            store, scenario, language="en", nickname="Ana", consent=consent_text("en"), study=study,
            self_mbti=None, llm_config={},
        )  # fmt: skip
        gone, gone_code, _ = register(
            store, scenario, language="en", nickname="Bo", consent=consent_text("en"), study=study,
            self_mbti=None, llm_config={},
        )  # fmt: skip
        withdraw(store, gone_code)
        app = participant_app(store, scenario, study)
        app.code_guard = CodeGuard(free_tries=5, base_wait_s=30.0, clock=lambda: now[0])
        async with app.run_test(size=SIZE) as pilot:
            await resume(pilot, app, "not a code")
            assert resume_error(app) == t("participant.code_malformed", "en", example="K7QX-M2PD")
            assert app.code_guard.wrong == 0  # a malformed code finds nobody: it costs no try

            unknown = t("participant.code_unknown", "en")
            wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
            for typed in (wrong, gone_code, "[red]ZZZZ-ZZZ2", wrong):  # unknown, withdrawn, hostile
                await resume(pilot, app, typed)
                assert isinstance(app.screen, ResumeScreen)
                error = resume_error(app)
                assert error in (unknown, t("participant.code_malformed", "en", example="K7QX-M2PD"))
                text = shown(app.screen)
                for secret in (kept.id, rec.id, "Ana", "Bo", gone.id, code):
                    assert secret not in text  # nothing about anybody, no list
                assert not app.screen.query(OptionList)
            assert resume_error(app) == unknown and app.screen.query_one("#resume-code", Input).value == ""
            await resume(pilot, app, "QQQQ-QQQQ")
            assert app.code_guard.wrong == 4
            await resume(pilot, app, "RRRR-RRRR")
            assert app.code_guard.wrong == 5

            await resume(pilot, app, code)  # even the right code waits now
            assert isinstance(app.screen, ResumeScreen)
            assert resume_error(app) == t("participant.code_wait", "en", seconds=30)
            now[0] += 29.0
            await resume(pilot, app, code)
            assert resume_error(app) == t("participant.code_wait", "en", seconds=1)
            now[0] += 1.0
            await resume(pilot, app, code)
            await wait_for(pilot, lambda: isinstance(app.screen, GameScreen))
            assert isinstance(app.screen, GameScreen) and app.screen.session.id == rec.id
        assert counts(store)["participants"] == 2 and counts(store)["sessions"] == 1


async def test_no_evaluator_saved_games_or_settings(db: Path, scenario: Scenario) -> None:
    with Store(db, shared=True) as store:
        app = participant_app(store, scenario)
        async with app.run_test(size=SIZE) as pilot:
            start = app.get_screen(PARTICIPANT)
            assert app.current_mode == GAME and app.screen is start
            assert app.get_screen_stack(GAME) == [start]
            for name in (START, CONTINUE, SETTINGS, RUNS):
                with pytest.raises(KeyError):
                    app.get_screen(name)
            assert "f6" not in app.active_bindings
            assert not any(b.binding.action == "evaluator" for b in app.active_bindings.values())
            await pilot.press("f6")
            await app.run_action("evaluator")
            app.post_message(ShowContinue())
            app.post_message(ShowSettings())
            await pilot.pause()
            assert app.current_mode == GAME and app.screen is start
            with pytest.raises(Exception, match="evaluator"):
                await app.switch_mode(EVALUATOR)
            assert not start.query("#continue") and not start.query("#settings")

            await pilot.press("f1")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert "F6" not in str(app.screen.query_one("#help-body").render())
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is start)

            await enrol(pilot, app, "Ren")
            await pilot.click("#code-done")
            await wait_for(pilot, lambda: isinstance(app.screen, GameScreen) and app.screen.awaiting)
            game = app.screen
            await pilot.press("f6")  # in the game too (the reply box has the focus)
            await pilot.pause()
            assert app.current_mode == GAME and app.screen is game
            assert not game.query_one("#status").researcher  # type: ignore[attr-defined]


def test_the_age_band_labelled_in_the_interface_language_is_a_band() -> None:
    assert AGE_UNDISCLOSED in AGE_BANDS


def test_participant_mode_takes_no_researcher_view(db: Path, scenario: Scenario) -> None:
    with Store(db) as store:
        with pytest.raises(ValueError, match="researcher"):
            SharehouseApp(store, scenario, participant=True, researcher=True)
        with pytest.raises(ValueError, match="participant mode"):
            SharehouseApp(store, scenario, study=StudyConfig(pre_mbti=True))
        plain = SharehouseApp(store, scenario)  # the ordinary game has no participant screen
        with pytest.raises(KeyError):
            plain.get_screen(PARTICIPANT)


def test_play_rejects_participant_options_that_do_not_fit(db: Path, tmp_path: Path) -> None:
    runner, cli = CliRunner(), _build()
    res = runner.invoke(cli, ["play", "--db", str(db), "--study", str(tmp_path / "s.json")])
    assert res.exit_code == 2 and "--study needs --participant" in res.output
    res = runner.invoke(cli, ["play", "--db", str(db), "--participant", "--researcher"])
    assert res.exit_code == 2 and "cannot be combined" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"pre_mbit": true}', encoding="utf-8")
    res = runner.invoke(cli, ["play", "--db", str(db), "--participant", "--study", str(bad)])
    assert res.exit_code == 2 and "pre_mbit" in res.output
    assert not db.exists()  # nothing was opened


async def test_the_closing_screen_shows_the_code_and_stores_the_questionnaire(
    db: Path, scenario: Scenario
) -> None:
    study = StudyConfig(post_questionnaire=True)
    with Store(db, shared=True) as store:
        participant, code, rec = register(
            store, scenario, language="en", nickname="Finisher", consent=consent_text("en"), study=study,
            self_mbti=None, llm_config={},
        )  # fmt: skip
        last = scenario.day(5).ordered_states()[-1]
        assert last.check.kind == "any"  # judged by rule: no model needed
        store.set_position(rec.id, Position(day=5, state=last.id, followups_used=0))
        store.set_pending(rec.id, scenario.npc(last.npc).name.en, last.opener.en)
        app = participant_app(store, scenario, study)
        async with app.run_test(size=SIZE) as pilot:
            await resume(pilot, app, code)
            await wait_for(pilot, lambda: isinstance(app.screen, GameScreen) and app.screen.awaiting)
            app.screen.query_one(ReplyInput).insert("Thank you all, I will miss this house!")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ParticipantClosingScreen))
            closing = app.screen
            assert code in str(closing.query_one("#closing-code").render())
            assert rec.id in str(closing.query_one("#closing-text").render())
            closing.query_one("#age-band", Select).value = "25-34"
            closing.query_one("#natural-4", RadioButton).value = True
            comment = closing.query_one("#comment", TextArea)
            comment.text = "x" * 2001
            await press_button(pilot, closing.query_one("#send-answers", Button))
            assert find_by_code(store, code).answered_at is None  # type: ignore[union-attr]
            comment.text = "Leo felt real. \x1b[31m[b]ok[/b]"
            await press_button(pilot, closing.query_one("#send-answers", Button))
            await wait_for(pilot, lambda: bool(closing.query("#survey-sent")))
            stored = find_by_code(store, code)
            assert stored is not None and stored.id == participant.id
            assert (stored.age_band, stored.naturalness) == ("25-34", 4)
            assert stored.comment == "Leo felt real. [b]ok[/b]"
            assert not closing.query("#send-answers")
            await press_button(pilot, closing.query_one("#close-game", Button))
            await wait_for(pilot, lambda: not app.is_running)
        done = store.get_session(rec.id)
        assert done is not None and done.status == "complete"

        again = participant_app(store, scenario, study)  # back with the code: the closing screen again
        async with again.run_test(size=SIZE) as pilot:
            await resume(pilot, again, code)
            await wait_for(pilot, lambda: isinstance(again.screen, ParticipantClosingScreen))
            assert code in str(again.screen.query_one("#closing-code").render())
            assert again.screen.query("#send-answers")


def test_consent_screen_snapshot(snap_compare: Any, db: Path, scenario: Scenario) -> None:
    store = Store(db, shared=True)
    app = participant_app(store, scenario, StudyConfig(pre_mbti=True))

    async def before(pilot: Pilot) -> None:
        await pilot.click("#new-participant")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConsentScreen))

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=before)
    finally:
        store.close()


@pytest.fixture
def snapshot(snapshot: Any) -> Any:
    return SnapshotsDir(snapshot)
