"""A curated list of personal names used when anonymising exports.

Chosen so that replacing them does not damage ordinary text:

- English names are matched as whole words, case-insensitively, so names that are also common
  words ("Will", "May", "Grace", "Rose", "Brown", "Hope", …) are left out on purpose.
- Japanese and Chinese names are matched as substrings, so only names of two or more characters
  that rarely occur inside other words are listed (no single-character surnames such as 王 or 林,
  no words that double as nouns or place names, and no 张 + a character that commonly follows the
  measure word 张, as in 一张伟大的画).
- The housemates' names (the NPCs) are characters of the game, not personal data; they are never
  treated as names: the YNTP-100 housemates (:data:`NOT_NAMES`, in the spellings the dataset and
  its Japanese and Chinese players use) and those of the scenario played
  (:func:`scenario_housemates`, every language).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sharehouse.lang import LANGS

if TYPE_CHECKING:
    from sharehouse.scenario import Scenario

NAMES_EN: frozenset[str] = frozenset(
    """
    Aaron Abigail Adam Ahmed Aisha Alexander Alexandra Alice Amanda Amelia Andrew Angela Anthony
    Ashley Ava Avery Barbara Benjamin Brandon Brian Brittany Caleb Camila Catherine Charles
    Charlotte Chloe Christopher Claire Daniel Danielle David Deborah Dennis Diana Dorothy Dylan
    Edward Elena Elijah Elizabeth Emily Emma Eric Ethan Evelyn Fatima Gabriel Gregory Hannah Harper
    Heather Isaac Isabella Jacob James Jason Jennifer Jeremy Jessica Jonathan Joseph Joshua Julia
    Justin Karen Katherine Kevin Kimberly Kyle Laura Lauren Liam Linda Lucas Madison Margaret Maria
    Matthew Megan Melissa Mia Michael Michelle Mohammed Natalie Nathan Nicholas Nicole Noah Olivia
    Oliver Patricia Priya Rachel Rebecca Richard Robert Ryan Samantha Samuel Sandra Sarah Scarlett
    Sebastian Sophia Sofia Stephanie Stephen Steven Susan Thomas Timothy Tyler Victoria William
    Zachary Zoe
    Adams Allen Anderson Campbell Carter Clark Collins Davis Edwards Evans Flores Garcia Gonzalez Harris
    Hernandez Jackson Johnson Jones Kowalski Lewis Lopez Martinez Miller Mitchell Morales Morgan
    Murphy Nelson Nguyen Patel Perez Peterson Phillips Ramirez Richardson Roberts Robinson
    Rodriguez Sanchez Schmidt Smith Stewart Taylor Thompson Torres Walker Williams Wilson
    """.split()
)

NAMES_JA: frozenset[str] = frozenset(
    """
    佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邊 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村
    斎藤 齋藤 山崎 森田 池田 橋本 阿部 山下 中島 前田 藤田 後藤 岡田 長谷川 村上 近藤 石井 坂本
    遠藤 青木 藤井 西村 福田 三浦 藤原 岡本 松田 中川 菅原 久保田 酒井 工藤 横山
    翔太 大輝 陽翔 悠真 大翔 拓海 健太 直樹 和也 拓也 達也 健一 大介 雄一 浩二 洋平 康介 太郎
    一郎 陽菜 結衣 美咲 裕子 恵子 美穂 由美 真由美 愛子 花子 陽子 明美 香織 千尋 優子 智子 直子
    """.split()
)

NAMES_ZH: frozenset[str] = frozenset(
    """
    王伟 王芳 王磊 王静 王秀英 李娜 李强 李华 李伟 张晓明 刘洋 刘杰 刘芳 陈静 陈杰 陈晨 杨洋
    杨帆 黄磊 赵磊 赵敏 周杰 吴敏 徐静 孙丽 马丽 朱婷 胡军 郭涛 林涛 罗静 郑伟 梁静 谢娜 宋佳 唐磊
    韩梅 冯涛 董明 曹阳 袁媛 邓超 曾静 彭丽 吕明 蒋欣 欧阳娜娜
    """.split()
)

#: the YNTP-100 housemates (the speakers of the public dataset): characters, never personal data
NOT_NAMES: frozenset[str] = frozenset(
    {
        "DaVinci", "Da Vinci", "Donatello", "Michelangelo", "Raffaello",
        "ダヴィンチ", "ダ・ヴィンチ", "ドナテッロ", "ドナテロ", "ミケランジェロ", "ラファエロ", "ラッファエッロ",
        "达芬奇", "达·芬奇", "多纳泰罗", "米开朗基罗", "拉斐尔",
    }
)  # fmt: skip


def scenario_housemates(scenarios: Iterable[Scenario]) -> set[str]:
    """The housemates' display names of the given scenarios, in every language."""
    return {npc.name.get(lang) for sc in scenarios for npc in sc.npcs for lang in LANGS}


def curated_names() -> dict[str, frozenset[str]]:
    """The curated names by language (``en``, ``ja``, ``zh``)."""
    return {"en": NAMES_EN, "ja": NAMES_JA, "zh": NAMES_ZH}
