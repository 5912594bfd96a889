"""The game's building blocks without a running app: strings, closeness, the map, text safety."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from sharehouse.scenario import Scenario, default_scenario_path, load_scenario
from sharehouse.store import Store, TurnRecord
from sharehouse.tui.closeness import MAX_LEVEL, START, closeness_levels, hearts
from sharehouse.tui.demo import prefill_demo_session
from sharehouse.tui.i18n import CATALOGUE, UI_LANGS, catalogue_problems, t
from sharehouse.tui.screens.summary import summarise_day
from sharehouse.tui.text import clean, one_line, wrap_cells
from sharehouse.tui.widgets.house_map import PLAYER_MARK, SPEAKER_MARK, MapState, render_house
from sharehouse.tui.widgets.status_panel import progress_dots

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(default_scenario_path())


def test_catalogue_is_complete_in_every_language() -> None:
    assert catalogue_problems() == []
    for key, entry in CATALOGUE.items():
        assert set(entry) == set(UI_LANGS), key


def test_catalogue_problems_finds_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CATALOGUE, "x.broken", {"en": "{a}", "ja": "{b}", "zh": ""})
    problems = catalogue_problems()
    assert any(p.startswith("x.broken: missing zh") for p in problems)
    monkeypatch.setitem(CATALOGUE, "x.broken", {"en": "{a}", "ja": "{b}", "zh": "{a}"})
    assert any(p.startswith("x.broken: placeholders differ") for p in catalogue_problems())


def test_every_catalogue_key_is_used_by_the_interface() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "sharehouse" / "tui").rglob("*.py"))
    unused = [key for key in CATALOGUE if f'"{key}"' not in sources]
    assert unused == []


def test_t_fills_placeholders_and_falls_back_to_english() -> None:
    assert t("status.day", "en", day=2, total=5) == "Day 2 of 5"
    assert t("status.day", "ja", day=2, total=5) == "2日目 / 全5日"
    assert t("status.day", "zh", day=2, total=5) == "第2天 / 共5天"
    assert t("key.help", "fr") == "Help"
    fields = {name for _, name, _, _ in string.Formatter().parse(CATALOGUE["game.error"]["ja"]) if name}
    assert fields == {"error"}


def _turn(state_id: str, verdict: str, idx: int) -> TurnRecord:
    return TurnRecord(
        session_id="s", day=1, idx=idx, npc="?", message="m", response="r", state_id=state_id, verdict=verdict
    )


def test_closeness_rises_with_answers_and_dips_on_follow_ups(scenario: Scenario) -> None:
    assert closeness_levels(scenario, []) == {npc.id: START for npc in scenario.npcs}
    levels = closeness_levels(
        scenario,
        [
            _turn("d1_windfall", "follow_up", 0),
            _turn("d1_windfall", "advance", 1),
            _turn("d1_plan", "forced", 2),
        ],
    )
    assert levels["leo"] == START  # -1 then +1
    assert levels["kenji"] == START  # a forced move changes nothing
    many = [_turn("d1_windfall", "advance", i) for i in range(10)]
    assert closeness_levels(scenario, many)["leo"] == MAX_LEVEL
    dips = [_turn("d1_dream", "follow_up", i) for i in range(5)]
    assert closeness_levels(scenario, dips)["noel"] == 0
    assert hearts(2) == "♥♥♡♡♡"


def test_closeness_finds_the_housemate_by_name_without_state(scenario: Scenario) -> None:
    turn = TurnRecord(session_id="s", day=1, idx=0, npc="ミナ", message="m", response="r", verdict="advance")
    assert closeness_levels(scenario, [turn])["mina"] == START + 1


def test_text_is_cleaned_and_cut_by_cells() -> None:
    hostile = "\x1b[31mred\x1b[0m [bold]x[/bold]\x07"
    assert clean(hostile) == "red [bold]x[/bold]"
    assert one_line("a\nb  c", 10) == "a b c"
    cut = one_line("日本語のとても長い文章です", 9)
    assert cut.endswith("…") and cell_len(cut) <= 9
    assert wrap_cells("Entrance hall", 9) == ["Entrance", "hall"]
    assert all(cell_len(line) <= 4 for line in wrap_cells("庭のバルコニー", 4))


@pytest.mark.parametrize("lang", UI_LANGS)
def test_house_map_draws_rooms_people_and_player(scenario: Scenario, lang: str) -> None:
    text = render_house(scenario, lang, 52, 15, MapState(speaker="kenji", player_room="kitchen"))
    lines = text.plain.split("\n")
    assert len(lines) == 15
    assert all(cell_len(line) == 52 for line in lines)
    assert lines[0].startswith("┌") and lines[0].endswith("┐")
    assert lines[-1].startswith("└") and lines[-1].endswith("┘")
    assert "┼" in text.plain or "┬" in text.plain
    plain = text.plain.replace("\n", "")
    for room in scenario.house.rooms:  # every room name appears (wrapped names: their first piece)
        assert wrap_cells(room.name.get(lang), 10)[0][:2] in plain
    kenji = scenario.npc("kenji").name.get(lang)[0]
    assert SPEAKER_MARK + kenji in plain
    assert plain.count(PLAYER_MARK) == 1
    kitchen_row = next(line for line in lines if SPEAKER_MARK in line)
    assert PLAYER_MARK in kitchen_row


def test_house_map_scales_and_player_defaults_to_the_entrance(scenario: Scenario) -> None:
    small = render_house(scenario, "en", 30, 9, MapState())
    assert len(small.plain.split("\n")) == 9
    hall_rows = [line[: line.index("│", 1) + 1] for line in small.plain.split("\n")[1:4]]
    assert any(PLAYER_MARK in row for row in hall_rows)
    console = Console(width=60, record=True, color_system=None)
    console.print(render_house(scenario, "zh", 50, 15, MapState(speaker="leo")))
    assert "客厅" in console.export_text()


def test_progress_dots() -> None:
    assert progress_dots(0, 3) == "●○○"
    assert progress_dots(2, 3) == "●●●"
    assert progress_dots(0, 0) == ""


def test_day_summary_lists_the_topics_and_counts_replies(tmp_path: Path, scenario: Scenario) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        rec = prefill_demo_session(store, scenario, "en", answered=2)
        turns = store.load_turns(rec.id)
    summary = summarise_day(scenario, turns, 1)
    assert summary.replies == 2
    assert summary.topics == [("leo", "d1_windfall"), ("kenji", "d1_plan")]
    planned = summarise_day(scenario, [], 2)
    assert planned.replies == 0 and [sid for _, sid in planned.topics] == [
        "d2_missing",
        "d2_system",
        "d2_confess",
    ]


def test_demo_session_is_resumable_at_the_pending_line(tmp_path: Path, scenario: Scenario) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        rec = prefill_demo_session(store, scenario, "ja", answered=1)
        assert rec.position_state == "d1_plan" and rec.status == "active"
        assert rec.pending_message == scenario.state("d1_plan").opener.ja
        assert [t.response for t in store.load_turns(rec.id)] == [
            "正直に言うと、仲のいい人たちとちょっとした食事会をして、あとは黙っておくかな。"
        ]
        with pytest.raises(ValueError):
            prefill_demo_session(store, scenario, "en", answered=3, session_id="s-other")
