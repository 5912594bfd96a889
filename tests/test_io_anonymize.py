"""Anonymisation: placeholders in en/ja/zh text, no damage to ordinary text, stable pseudonyms."""

from __future__ import annotations

import pytest

from sharehouse.io import SALT_ENV, Anonymizer, resolve_salt
from sharehouse.io.anonymize import persona_name_parts
from sharehouse.io.names import NAMES_EN, NAMES_JA, NAMES_ZH, NOT_NAMES


@pytest.mark.parametrize(
    ("text", "expected", "counts"),
    [
        (
            "Email me at emily.carter@example.com or call +1 (555) 123-4567, see https://example.org/a?b=1.",
            "Email me at [EMAIL] or call [PHONE], see [URL].",
            {"email": 1, "phone": 1, "url": 1, "name": 0},
        ),
        (
            "Hi, I am Emily Carter. emily and JAMES came; Ava's bag is here.",
            "Hi, I am [NAME]. [NAME] and [NAME] came; [NAME]'s bag is here.",
            {"name": 4},
        ),
        (
            "My number is 555.123.4567 and my site is example.com/me, or www.example.net!",
            "My number is [PHONE] and my site is [URL], or [URL]!",
            {"phone": 1, "url": 2},
        ),
    ],
)
def test_english(text: str, expected: str, counts: dict[str, int]) -> None:
    anon = Anonymizer("s")
    assert anon.text(text) == expected
    for kind, n in counts.items():
        assert getattr(anon.counts, kind) == n


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("田中さんの電話は090-1234-5678です。", "[NAME]さんの電話は[PHONE]です。"),
        (
            "メールはtaro.y@example.co.jpへ、または taro＠example.jp まで。",
            "メールは[EMAIL]へ、または [EMAIL] まで。",
        ),
        (
            "佐藤花子です。会社は(03) 1234-5678、携帯は０９０－１２３４－５６７８。",
            "[NAME]です。会社は[PHONE]、携帯は[PHONE]。",
        ),
        ("詳しくはhttps://example.jp/page?id=3を見てね", "詳しくは[URL]を見てね"),
        ("フリーダイヤル0120-123-456へどうぞ", "フリーダイヤル[PHONE]へどうぞ"),
    ],
)
def test_japanese(text: str, expected: str) -> None:
    assert Anonymizer("s").text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我叫王伟，手机13812345678。", "我叫[NAME]，手机[PHONE]。"),
        ("网址www.example.cn，邮箱li.hua@example.com。", "网址[URL]，邮箱[EMAIL]。"),
        ("座机010-12345678，或者+86 138 1234 5678，找刘洋。", "座机[PHONE]，或者[PHONE]，找[NAME]。"),
        ("他的号码是138-1234-5678", "他的号码是[PHONE]"),
    ],
)
def test_chinese(text: str, expected: str) -> None:
    assert Anonymizer("s").text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I will travel in May with Grace and Hope, and Mark my words.",
        "DaVinci, Donatello, Michelangelo and Raffaello are my housemates.",
        "100 million dollars, 2024-05-01, 3.14, 10:30, 12345 steps, +5 points, 1/2 of it.",
        "Node.js and e.g. are not links; neither is file.txt.",
        "一张伟大的画。行李明天到。我今天很高兴，因为天气很好。",
        "明日は晴れるでしょう。山の下で休む。2024年5月1日、10時30分。",
        "Avalanche, Avatar, Emilys, Jamesville",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    anon = Anonymizer("s")
    assert anon.text(text) == text
    assert anon.counts.total == 0


def test_extra_names_from_personas_match_whole_and_in_parts() -> None:
    anon = Anonymizer("s", ["Hikari Moriyama", "森山ひかり", "Zhou Xun"], use_curated=False)
    assert anon.text("Moriyama-san and Hikari met zhou xun.") == "[NAME]-san and [NAME] met [NAME]."
    assert anon.text("こんにちは、森山ひかりです。") == "こんにちは、[NAME]です。"
    assert anon.text("Hikarimoriyama is one word") == "Hikarimoriyama is one word"
    assert anon.counts.name == 4
    assert persona_name_parts(["Ana  Li", " ", "佐藤・花子"]) == {
        "Ana  Li",
        "Ana",
        "Li",
        "佐藤・花子",
        "佐藤",
        "花子",
    }


def test_single_words_of_given_names_match_only_as_written() -> None:
    anon = Anonymizer("s", ["Ava Price", "Noah Foster"])
    assert anon.text("Worth the price; help us foster it.") == "Worth the price; help us foster it."
    assert (
        anon.text("Price and Foster said hi; ava price and NOAH came.")
        == "[NAME] and [NAME] said hi; [NAME] and [NAME] came."
    )
    assert anon.counts.name == 4


def test_npc_names_are_never_names() -> None:
    anon = Anonymizer("s", list(NOT_NAMES))
    assert anon.text("DaVinci and donatello") == "DaVinci and donatello"


def test_curated_lists_are_sane() -> None:
    assert len(NAMES_EN) >= 100 and len(NAMES_JA) >= 50 and len(NAMES_ZH) >= 40
    assert all(len(n) >= 2 for n in NAMES_JA | NAMES_ZH)
    common_words = {"will", "may", "grace", "hope", "mark", "rose", "brown", "white", "june", "bill"}
    assert not {n.casefold() for n in NAMES_EN} & common_words
    assert not NAMES_EN & NOT_NAMES


def test_pseudonyms_are_stable_keyed_and_linked() -> None:
    a, b, c = Anonymizer("salt-1"), Anonymizer("salt-1"), Anonymizer("salt-2")
    assert a.session_id("sess-1") == b.session_id("sess-1") != c.session_id("sess-1")
    assert a.user_id("en_1") == b.user_id("en_1")
    assert a.user_id("en_1") != a.user_id("en_2")
    assert a.session_id("x")[2:] != a.user_id("x")[2:]
    assert a.user_id("p-en-001")[2:] == a.persona_id("p-en-001")[2:]  # type: ignore[index]
    assert a.persona_id(None) is None
    assert a.session_id("sess-1").startswith("s-") and len(a.session_id("sess-1")) == 18
    with pytest.raises(ValueError):
        Anonymizer("")


def test_salt_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SALT_ENV, raising=False)
    salt, source = resolve_salt(None)
    assert source == "random" and len(salt) == 64 and resolve_salt(None)[0] != salt
    monkeypatch.setenv(SALT_ENV, "from-env")
    assert resolve_salt(None) == ("from-env", "env")
    assert resolve_salt("given") == ("given", "option")


# -- the housemates of the scenario played ---------------------------------------------------------
@pytest.fixture(scope="module")
def shipped_names() -> tuple[list[str], set[str]]:
    from sharehouse.io.names import scenario_housemates
    from sharehouse.personas.io import default_personas_path, load_personas
    from sharehouse.scenario import default_scenario_path, load_scenario

    personas = [p.name for p in load_personas(default_personas_path())]
    return personas, scenario_housemates([load_scenario(default_scenario_path())])


def test_shipped_housemates_are_never_names(shipped_names: tuple[list[str], set[str]]) -> None:
    shipped, housemates = shipped_names
    assert "Grace Evans" in shipped
    # a persona whose first name is a housemate's (the shipped set has none since it was regenerated)
    personas = [*shipped, "Leo Evans"]
    assert {
        "Leo",
        "Mina",
        "Noel",
        "Kenji",
        "レオ",
        "ミナ",
        "ノエル",
        "ケンジ",
        "利奥",
        "米娜",
        "诺埃尔",
        "健二",
    } <= housemates
    anon = Anonymizer("s", personas, housemates=housemates)
    for text in (
        "Leo said Mina, Noel and Kenji would cook tonight.",
        "レオとミナ、ノエルとケンジが台所にいた。",
        "利奥、米娜、诺埃尔和健二都在厨房。",
        "DaVinci and ダ・ヴィンチ and 达芬奇 are characters too.",
    ):
        assert anon.text(text) == text
    assert anon.counts.name == 0
    # the persona's full name and surname are still personal data
    assert anon.text("Leo Evans said hi; Evans again, then Leo.") == "[NAME] said hi; [NAME] again, then Leo."
    assert anon.counts.name == 2


def test_without_the_scenario_a_housemate_named_like_a_persona_is_replaced(
    shipped_names: tuple[list[str], set[str]],
) -> None:
    """Why the housemates must be passed: the persona "Leo Evans" alone would make "Leo" a name."""
    personas = [*shipped_names[0], "Leo Evans"]
    assert Anonymizer("s", personas).text("Leo said hi") == "[NAME] said hi"
    assert Anonymizer("s", personas, housemates=["Leo"]).text("Leo said hi") == "Leo said hi"


def test_pieces_of_cjk_housemate_names_are_not_names() -> None:
    anon = Anonymizer(
        "s", ["诺埃", "山田健二", "ミナ"], use_curated=False, housemates=["诺埃尔", "健二", "ミナ"]
    )
    assert anon.text("诺埃尔和健二，ミナも。") == "诺埃尔和健二，ミナも。"
    assert anon.text("山田健二です。") == "[NAME]です。"
    assert anon.is_housemate("诺埃") and not anon.is_housemate("山田健二")


def test_extra_names_apply_to_one_text_only() -> None:
    anon = Anonymizer("s", housemates=["Leo"])
    assert (
        anon.text("thanks Quinby, see you Quinby!", extra_names=["Quinby"])
        == "thanks [NAME], see you [NAME]!"
    )
    assert anon.text("thanks Quinby") == "thanks Quinby"
    assert (
        anon.text("I am x and Leo", extra_names=["x", "Leo", " "]) == "I am x and Leo"
    )  # too short; a housemate
    assert anon.text("Hi Sam Lee", extra_names=["Sam Lee"]) == "Hi [NAME]"
    assert anon.counts.name == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me on 212-555-0199 tonight.", "Call me on [PHONE] tonight."),
        ("Office: (415) 555-2671; mobile 1 415 555 2671.", "Office: [PHONE]; mobile [PHONE]."),
        ("In London: +44 20 7946 0958, Paris +33 1 23 45 67 89.", "In London: [PHONE], Paris [PHONE]."),
        ("Mein Handy: +49 30 12345678", "Mein Handy: [PHONE]"),
        (
            "携帯は+81 90-1234-5678、実家は０６－６１２３－４５６７です。",
            "携帯は[PHONE]、実家は[PHONE]です。",
        ),
        ("電話番号：03-1234-5678（平日のみ）", "電話番号：[PHONE]（平日のみ）"),
        (
            "办公室电话021-6123 4567，手机＋８６ １３９ ０００１ ２３４５。",
            "办公室电话[PHONE]，手机[PHONE]。",
        ),
        ("我的号码是139 0001 2345，晚上打。", "我的号码是[PHONE]，晚上打。"),
    ],
)
def test_phone_numbers_in_each_language(text: str, expected: str) -> None:
    anon = Anonymizer("s", use_curated=False)
    assert anon.text(text) == expected
    assert anon.counts.phone == expected.count("[PHONE]")


@pytest.mark.parametrize(
    "text",
    [
        "Rent is $1,299.99 a month, or ¥128000, or 12800円; the deposit is 2,500,000 won.",
        "We lived there 1990-2024, moved on 2024-05-01 and again on 20240501.",
        "I'm an INTJ-A, she is ENFP-T 7w8; he scored 120 on the test.",
        "Quiet hours are 22:00-07:00, the gym opens 9:30-17:30.",
        "Order #12345678 shipped; tracking ref 87654321.",
        "2023年から2024年まで住んでいた。家賃は８５０００円、9時〜18時に働く。",
        "我2019年毕业，房租每月4500元，下午3点到5点有空。",
        "Version 3.14.159 scored 0.8123 on 10000 prompts.",
    ],
)
def test_numbers_that_are_not_phone_numbers_stay(text: str) -> None:
    anon = Anonymizer("s", use_curated=False)
    assert anon.text(text) == text
    assert anon.counts.phone == 0
