"""The scenario package and the shipped scenario file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from sharehouse.scenario import (
    LANGS,
    SCENARIO_ENV,
    Check,
    Day,
    I18nText,
    Scenario,
    ScenarioError,
    default_scenario_path,
    json_path,
    load_scenario,
    parse_scenario,
    validate_scenario_file,
)

SHIPPED = default_scenario_path()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SHIPPED)


@pytest.fixture
def raw() -> dict[str, Any]:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any, name: str = "broken.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def errors_of(tmp_path: Path, data: Any) -> ScenarioError:
    path = write(tmp_path, data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.path == path
    return info.value


def assert_error(err: ScenarioError, where: str, fragment: str) -> None:
    matching = [message for path, message in err.errors if path == where]
    assert matching, f"no error at {where}; got {err.errors}"
    assert any(fragment in message for message in matching), f"{fragment!r} not in {matching}"
    assert f"{err.path}: {where}: " in str(err)


def i18n_texts(node: Any) -> list[I18nText]:
    if isinstance(node, I18nText):
        return [node]
    if isinstance(node, BaseModel):
        return [t for name in type(node).model_fields for t in i18n_texts(getattr(node, name))]
    if isinstance(node, list):
        return [t for item in node for t in i18n_texts(item)]
    return []


# --- the shipped scenario -------------------------------------------------------------------------


def test_shipped_scenario_shape(scenario: Scenario) -> None:
    assert [day.day for day in scenario.days] == [1, 2, 3, 4, 5]
    assert len(scenario.npcs) == 4
    assert 15 <= len(scenario.ordered_states()) <= 21
    assert validate_scenario_file(SHIPPED) == []
    for day in scenario.days:
        chain = day.ordered_states()
        assert chain[0].id == day.start
        assert {s.id for s in chain} == {s.id for s in day.states}
        assert len(chain) == len(day.states)
        assert chain[-1].next is None
        assert all(a.next == b.id for a, b in zip(chain, chain[1:], strict=False))
    assert [d for d, _ in scenario.ordered_states()] == sorted(d for d, _ in scenario.ordered_states())


def test_shipped_scenario_covers_npcs_and_mbti(scenario: Scenario) -> None:
    states = [state for _, state in scenario.ordered_states()]
    assert {s.npc for s in states} == {npc.id for npc in scenario.npcs}
    assert {"E/I", "S/N", "T/F", "J/P"} <= {s.mbti for s in states}
    for state in states:
        assert state.check.kind in {"llm", "any"}
        if state.check.kind == "llm":
            assert state.check.criterion.strip()
        assert "?" in state.intent
    assert len({npc.colour for npc in scenario.npcs}) == 4
    for npc in scenario.npcs:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", npc.id)
        assert set(npc.speaking_style) == set(LANGS)
        assert set(npc.examples) == set(LANGS)
        assert all(2 <= len(lines) <= 3 for lines in npc.examples.values())


def test_shipped_texts_are_filled_in_every_language(scenario: Scenario) -> None:
    texts = i18n_texts(scenario)
    # title, intro, house name, rooms, two per NPC, two per state
    expected = 3 + len(scenario.house.rooms) + 2 * len(scenario.npcs) + 2 * len(scenario.days)
    assert len(texts) == expected + 2 * len(scenario.ordered_states())
    for text in texts:
        for lang in LANGS:
            assert text.get(lang).strip()
        # Japanese and Chinese strings are real translations, not English copies.
        assert not text.ja.isascii() and not text.zh.isascii(), text
    with pytest.raises(KeyError):
        texts[0].get("fr")


def test_shipped_house_layout(scenario: Scenario) -> None:
    house = scenario.house
    assert 5 <= len(house.rooms) <= 8
    assert house.player_room in {room.id for room in house.rooms}
    cells = set()
    for room in house.rooms:
        area = {(x, y) for x in range(room.x, room.x + room.w) for y in range(room.y, room.y + room.h)}
        assert not cells & area
        cells |= area
    assert all(0 <= x < house.width and 0 <= y < house.height for x, y in cells)


def test_lookups(scenario: Scenario) -> None:
    first_day, first_state = scenario.ordered_states()[0]
    assert first_day == 1
    assert scenario.state(first_state.id) is first_state
    assert scenario.day_of_state(first_state.id) == 1
    assert scenario.npc(first_state.npc).id == first_state.npc
    assert scenario.day(3).day == 3
    last_day, last_state = scenario.ordered_states()[-1]
    assert last_day == 5 and scenario.day_of_state(last_state.id) == 5
    for missing in (lambda: scenario.npc("nobody"), lambda: scenario.day(6), lambda: scenario.state("zz")):
        with pytest.raises(KeyError):
            missing()
    with pytest.raises(KeyError):
        scenario.day_of_state("zz")


def test_content_hash_is_stable_and_sensitive(tmp_path: Path, scenario: Scenario, raw: dict) -> None:
    digest = scenario.content_hash()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert load_scenario(SHIPPED).content_hash() == digest
    # Formatting and key order of the file do not matter.
    reordered = {key: raw[key] for key in reversed(list(raw))}
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(reordered, separators=(",", ":")), encoding="utf-8")
    assert load_scenario(compact).content_hash() == digest
    # Content does.
    raw["days"][0]["states"][0]["opener"]["en"] += " Really?"
    assert load_scenario(write(tmp_path, raw)).content_hash() != digest


def test_default_path_and_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(SCENARIO_ENV, raising=False)
    assert default_scenario_path() == SHIPPED
    other = tmp_path / "other.json"
    monkeypatch.setenv(SCENARIO_ENV, str(other))
    assert default_scenario_path() == other


def test_day_ordered_states_follows_chain(raw: dict) -> None:
    data = raw["days"][0]
    data["states"] = list(reversed(data["states"]))
    day = Day.model_validate(data)
    assert [s.id for s in day.ordered_states()] == ["d1_windfall", "d1_plan", "d1_dream"]


def test_json_path() -> None:
    assert json_path(()) == "$"
    assert json_path(("days", 2, "states", 0, "npc")) == "$.days[2].states[0].npc"
    assert json_path(("npcs", 0, "speaking_style", "fr", "[key]")) == "$.npcs[0].speaking_style.fr"
    assert json_path(("odd key",)) == '$["odd key"]'


# --- file-level errors ----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.errors == [("$", "file not found")]
    assert str(info.value) == f"{path}: $: file not found"
    assert validate_scenario_file(path) == [f"{path}: $: file not found"]


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"id": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(ScenarioError, match="not valid UTF-8") as info:
        load_scenario(path)
    assert info.value.errors[0][0] == "$"


def test_bad_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "id": "x",\n  "version" "1"\n}\n', encoding="utf-8")
    lines = validate_scenario_file(path)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: $: invalid JSON at line 3, column 13:")
    assert "delimiter" in lines[0]


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    err = errors_of(tmp_path, [1, 2])
    assert err.errors[0][0] == "$"


# --- field-level errors ---------------------------------------------------------------------------


def test_missing_field(tmp_path: Path, raw: dict) -> None:
    del raw["days"][1]["states"][2]["intent"]
    assert_error(errors_of(tmp_path, raw), "$.days[1].states[2].intent", "field required")


def test_wrong_type(tmp_path: Path, raw: dict) -> None:
    raw["house"]["width"] = "44"
    raw["days"][0]["states"][1]["max_followups"] = [2]
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.house.width", "valid integer")
    assert_error(err, "$.days[0].states[1].max_followups", "valid integer")


def test_empty_translation(tmp_path: Path, raw: dict) -> None:
    raw["npcs"][2]["name"]["ja"] = "   "
    raw["days"][4]["states"][5]["opener"]["zh"] = ""
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.npcs[2].name.ja", "must not be empty")
    assert_error(err, "$.days[4].states[5].opener.zh", "must not be empty")


def test_languages_of_style_and_examples(tmp_path: Path, raw: dict) -> None:
    del raw["npcs"][0]["speaking_style"]["zh"]
    raw["npcs"][1]["examples"]["fr"] = ["Bonjour"]
    raw["npcs"][3]["examples"]["en"] = []
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.npcs[0].speaking_style", "missing language(s): zh")
    assert_error(err, "$.npcs[1].examples.fr", "'en', 'ja' or 'zh'")
    assert_error(err, "$.npcs[3].examples.en", "at least 1")


def test_field_rules(tmp_path: Path, raw: dict) -> None:
    raw["npcs"][0]["id"] = "Leo"
    raw["npcs"][1]["colour"] = "blue"
    raw["days"][0]["states"][0]["mbti"] = "X/Y"
    raw["days"][0]["states"][1]["check"] = {"kind": "llm", "min_chars": 0}
    raw["days"][0]["states"][2]["max_followups"] = 9
    raw["days"][2]["surprise"] = True
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.npcs[0].id", "pattern")
    assert_error(err, "$.npcs[1].colour", "pattern")
    assert_error(err, "$.days[0].states[0].mbti", "'E/I'")
    assert_error(err, "$.days[0].states[1].check.min_chars", "greater than or equal to 1")
    assert_error(err, "$.days[0].states[2].max_followups", "less than or equal to 5")
    assert_error(err, "$.days[2].surprise", "unknown field")
    # the check above has no criterion: a cross-reference rule, reported in the same pass
    assert_error(err, "$.days[0].states[1].check.criterion", "needs a non-empty criterion")
    assert len(err.errors) == 7


def test_llm_check_needs_criterion(tmp_path: Path, raw: dict) -> None:
    raw["days"][0]["states"][1]["check"] = {"kind": "llm", "criterion": "  "}
    raw["days"][2]["states"][0].pop("check")  # the default check is "llm" without a criterion
    err = errors_of(tmp_path, raw)
    assert err.errors == [
        ("$.days[0].states[1].check.criterion", "a check of kind 'llm' needs a non-empty criterion"),
        ("$.days[2].states[0].check.criterion", "a check of kind 'llm' needs a non-empty criterion"),
    ]
    assert Check().kind == "llm"  # the model default itself still constructs


def test_check_kinds_without_criterion_are_fine(raw: dict) -> None:
    raw["days"][0]["states"][0]["check"] = {"kind": "min_chars", "min_chars": 5}
    raw["days"][0]["states"][1].pop("check")
    raw["days"][0]["states"][1].pop("max_followups")
    with pytest.raises(ScenarioError, match="needs a non-empty criterion"):
        parse_scenario(raw, "mem.json")  # the default check is "llm" and needs a criterion
    raw["days"][0]["states"][1]["check"] = {"kind": "any"}
    scenario = parse_scenario(raw, "mem.json")
    assert scenario.state("d1_windfall").check.min_chars == 5
    assert scenario.state("d1_plan").max_followups == 2


# --- cross-reference errors -----------------------------------------------------------------------


def test_unknown_npc(tmp_path: Path, raw: dict) -> None:
    raw["days"][2]["states"][0]["npc"] = "bob"
    err = errors_of(tmp_path, raw)
    assert err.errors == [("$.days[2].states[0].npc", "unknown NPC 'bob'")]
    assert str(err) == f"{err.path}: $.days[2].states[0].npc: unknown NPC 'bob'"


def test_unknown_next(tmp_path: Path, raw: dict) -> None:
    raw["days"][1]["states"][0]["next"] = "d2_nowhere"
    raw["days"][3]["states"][2]["next"] = "d5_party"
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.days[1].states[0].next", "unknown state 'd2_nowhere'")
    assert_error(err, "$.days[3].states[2].next", "belongs to day 5, not day 4")


def test_unknown_start(tmp_path: Path, raw: dict) -> None:
    raw["days"][0]["start"] = "d9_none"
    assert_error(errors_of(tmp_path, raw), "$.days[0].start", "unknown state 'd9_none'")


def test_cycle(tmp_path: Path, raw: dict) -> None:
    raw["days"][0]["states"][2]["next"] = "d1_plan"
    err = errors_of(tmp_path, raw)
    assert err.errors == [
        ("$.days[0].states[2].next", "cycle: next state 'd1_plan' was already visited in this day")
    ]


def test_unreachable_state(tmp_path: Path, raw: dict) -> None:
    raw["days"][3]["states"][0]["next"] = "d4_argument"
    err = errors_of(tmp_path, raw)
    assert err.errors == [
        ("$.days[3].states[1].id", "state 'd4_clean' is not reachable from start 'd4_noise'")
    ]


def test_wrong_day_numbering(tmp_path: Path, raw: dict) -> None:
    raw["days"][2]["day"], raw["days"][3]["day"] = 4, 3
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.days[2].day", "expected day 3")
    assert_error(err, "$.days[3].day", "expected day 4")


def test_missing_day(tmp_path: Path, raw: dict) -> None:
    raw["days"].pop()
    assert_error(errors_of(tmp_path, raw), "$.days", "expected exactly 5 days, got 4")


def test_duplicate_ids(tmp_path: Path, raw: dict) -> None:
    raw["days"][4]["states"].append(copy.deepcopy(raw["days"][0]["states"][2]))  # duplicate d1_dream
    raw["days"][4]["states"][5]["next"] = "d1_dream"
    raw["npcs"].append(copy.deepcopy(raw["npcs"][1]))
    raw["house"]["rooms"][5]["id"] = "hall"
    err = errors_of(tmp_path, raw)
    assert_error(
        err, "$.days[4].states[6].id", "duplicate state id 'd1_dream' (first at $.days[0].states[2].id)"
    )
    assert_error(err, "$.npcs[4].id", "duplicate NPC id 'mina'")
    assert_error(err, "$.house.rooms[5].id", "duplicate room id 'hall'")


def test_rooms_and_references(tmp_path: Path, raw: dict) -> None:
    raw["house"]["rooms"][1]["x"] = 5  # overlaps the hall
    raw["house"]["rooms"][2]["w"] = 40  # sticks out of the house
    raw["house"]["player_room"] = "attic"
    raw["npcs"][0]["room"] = "cellar"
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.house.rooms[1]", "overlaps room 'hall'")
    assert_error(err, "$.house.rooms[2]", "does not fit in the 44x14 house")
    assert_error(err, "$.house.player_room", "unknown room 'attic'")
    assert_error(err, "$.npcs[0].room", "unknown room 'cellar'")


def test_many_errors_reported_at_once(tmp_path: Path, raw: dict) -> None:
    raw["days"][0]["states"][0]["npc"] = "bob"
    raw["days"][1]["states"][2]["next"] = "d2_missing"
    raw["days"][4]["day"] = 6
    raw["days"][2]["states"][1]["next"] = None
    path = write(tmp_path, raw, "many.json")
    lines = validate_scenario_file(path)
    # One pass: the out-of-range day (a field error) does not hide the cross-reference problems.
    wanted = [
        "$.days[4].day: Input should be less than or equal to 5",
        "$.days[0].states[0].npc: unknown NPC 'bob'",
        "$.days[1].states[2].next: cycle",
        "$.days[2].states[2].id: state 'd3_schedule' is not reachable",
    ]
    for fragment in wanted:
        assert any(line.startswith(f"{path}: {fragment}") for line in lines), (fragment, lines)
    # field errors first; no second message at a path that already has a field error
    assert lines[0] == f"{path}: $.days[4].day: Input should be less than or equal to 5"
    assert len(lines) == 4, lines
    raw["days"][4]["day"] = 4
    lines = validate_scenario_file(write(tmp_path, raw, "many.json"))
    assert any(line.startswith(f"{path}: $.days[4].day: expected day 5") for line in lines), lines
    assert len(lines) == 4


def test_field_and_cross_reference_errors_in_one_pass(tmp_path: Path, raw: dict) -> None:
    raw["days"][2]["states"][0]["npc"] = "bob"
    del raw["npcs"][1]["colour"]
    raw["days"][0]["states"][1]["mbti"] = "XX"
    raw["days"][3]["states"][1]["next"] = "d4_nowhere"
    raw["house"]["rooms"][0]["id"] = raw["house"]["rooms"][1]["id"]
    err = errors_of(tmp_path, raw)
    assert_error(err, "$.days[2].states[0].npc", "unknown NPC 'bob'")
    assert_error(err, "$.npcs[1].colour", "field required")
    assert_error(err, "$.days[0].states[1].mbti", "'E/I'")
    assert_error(err, "$.days[3].states[1].next", "unknown state 'd4_nowhere'")
    assert_error(err, "$.house.rooms[1].id", "duplicate room id 'living'")
    # and their consequences: the renamed room and the state cut off by the broken link
    assert_error(err, "$.house.player_room", "unknown room 'hall'")
    assert_error(err, "$.days[3].states[2].id", "'d4_argument' is not reachable")
    assert len(err.errors) == 7, err.errors
    assert [where for where, _ in err.errors][:2] == ["$.npcs[1].colour", "$.days[0].states[1].mbti"]
    # the engine's loader refuses the file the same way, with the same lines
    assert validate_scenario_file(err.path) == err.lines()
    with pytest.raises(ScenarioError) as again:
        parse_scenario(raw, err.path)
    assert again.value.errors == err.errors


def test_broken_ids_do_not_cascade(tmp_path: Path, raw: dict) -> None:
    """A broken NPC or state id is one error, not one more per reference to it."""
    raw["npcs"][0]["id"] = 7
    del raw["days"][0]["states"][1]["id"]
    err = errors_of(tmp_path, raw)
    assert {where for where, _ in err.errors} == {"$.npcs[0].id", "$.days[0].states[1].id"}, err.errors


def test_every_declared_npc_speaks(tmp_path: Path, raw: dict) -> None:
    noel = next(i for i, npc in enumerate(raw["npcs"]) if npc["id"] == "noel")
    for day in raw["days"]:
        for state in day["states"]:
            if state["npc"] == "noel":
                state["npc"] = "leo"
    err = errors_of(tmp_path, raw)
    assert err.errors == [(f"$.npcs[{noel}].id", "NPC 'noel' is declared but speaks in no state")]
    with pytest.raises(ValidationError, match="speaks in no state"):
        Scenario.model_validate(raw)


def test_many_field_errors_reported_at_once(tmp_path: Path, raw: dict) -> None:
    del raw["title"]
    raw["npcs"][0]["name"]["zh"] = ""
    raw["days"][1]["states"][0]["mbti"] = "XX"
    raw["house"]["rooms"][0]["h"] = "tall"
    err = errors_of(tmp_path, raw)
    assert {path for path, _ in err.errors} == {
        "$.title",
        "$.npcs[0].name.zh",
        "$.days[1].states[0].mbti",
        "$.house.rooms[0].h",
    }


def test_model_validate_refuses_cross_reference_errors(raw: dict) -> None:
    raw["days"][2]["states"][0]["npc"] = "bob"
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(raw)
    assert "$.days[2].states[0].npc: unknown NPC 'bob'" in str(info.value)
