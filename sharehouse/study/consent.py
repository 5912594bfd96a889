"""The consent text a participant reads before a study game, in English, Japanese and Chinese.

The text carries :data:`CONSENT_VERSION`; agreeing stores that version and the time with the
participant (:func:`sharehouse.study.participants.register`), declining stores nothing. Change the
version whenever the meaning of any of the three texts changes, so that each agreement stays tied
to the words that were shown.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

from sharehouse.lang import LANGS, Lang, lookup

#: The version of the consent texts below (the date they were written, and a counter that day).
CONSENT_VERSION: Final[str] = "2026-12-1"

#: The withdrawal command, as the texts name it.
WITHDRAW_COMMAND: Final[str] = "sharehouse sessions withdraw CODE"


class ConsentText(BaseModel):
    """One language's consent text, as shown on the consent screen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    language: str
    title: str
    body: str


_TITLES: Final[dict[Lang, str]] = {
    "en": "Taking part in the Maple House study",
    "ja": "メープルハウス研究への参加について",
    "zh": "关于参加枫叶之家研究",
}

_BODIES: Final[dict[Lang, str]] = {
    "en": """\
This game is part of a research study on how language models can learn to reply the way one particular person would. Please read this before you start.

What we store
- Every reply you type, the housemates' lines you answered, and timings (when each reply was sent and how long it took).
- If this study asks for them: the MBTI type you report yourself (or "don't know"), and your answers to the short questionnaire at the end (age band, how natural the housemates felt, and your comment).
- That you agreed to this text, its version and the time.
We do not ask for your name, e-mail or any contact details. The nickname you choose is only used to address you in the game; it is never exported or published. Please do not type personal details (names, addresses, phone numbers) in your replies.

How the data is used
Your replies are studied by the researchers. An anonymised copy of the data (ids replaced, and e-mail addresses, phone numbers, web addresses and names removed from the text) may be published as a research dataset, and may be used by us and by others to train and evaluate language models.

Your resume code
At the start you get a personal resume code (like K7QX-M2PD). It lets you continue your game later, and it is the only way to find your data: we keep no name. Write it down.

Withdrawing
Taking part is voluntary. You can stop playing at any moment, and you can withdraw at any time, without giving a reason: give your resume code to the researcher, who runs `sharehouse sessions withdraw CODE`. This deletes your replies, your answers and every result computed from them. Copies of an anonymised dataset that was already published cannot be recalled.

By choosing "I agree" you confirm that you are 18 or older and agree to take part on these terms.

Consent version {version}
""",
    "ja": """\
このゲームは、言語モデルが特定の一人の人のように返事をすることをどう学べるかを調べる研究の一部です。始める前にお読みください。

保存する内容
- あなたが入力したすべての返事、あなたが答えた同居人のせりふ、そして時間の記録（各返事を送った時刻と、かかった時間）。
- この研究が尋ねる場合：あなたが自己申告する MBTI タイプ（または「わからない」）と、最後の短いアンケートへの回答（年齢層、同居人の会話がどのくらい自然だったか、自由記述のコメント）。
- あなたがこの説明に同意したこと、その版と日時。
お名前・メールアドレス・連絡先はお尋ねしません。あなたが選ぶニックネームはゲームの中で呼びかけるためだけに使い、書き出したり公開したりすることはありません。返事の中に個人情報（名前、住所、電話番号など）を書かないでください。

データの使い道
あなたの返事は研究者が分析します。匿名化したデータ（ID を置き換え、本文からメールアドレス・電話番号・ウェブアドレス・名前を取り除いたもの）を研究用データセットとして公開することがあり、私たちや他の研究者が言語モデルの学習と評価に使うことがあります。

再開コード
最初に個人用の再開コード（例：K7QX-M2PD）が表示されます。後でゲームを続けるときに使います。お名前を保存しないため、あなたのデータを見つける唯一の手がかりでもあります。必ず書き留めてください。

参加の取りやめ
参加は任意です。いつでもプレイをやめることができ、理由を言わずにいつでも参加を取りやめることができます。再開コードを研究者に伝えてください。研究者が `sharehouse sessions withdraw CODE` を実行し、あなたの返事と回答、それらから計算したすべての結果を削除します。すでに公開された匿名化データセットの複製は回収できません。

「同意する」を選ぶと、あなたが 18 歳以上であり、この条件で参加することに同意したことになります。

同意書の版 {version}
""",
    "zh": """\
这个游戏是一项研究的一部分：研究语言模型如何学会像某一个特定的人那样回复。开始之前请阅读以下内容。

我们保存的内容
- 你输入的每一条回复、你所回答的室友的话，以及时间记录（每条回复的发送时间和所用时长）。
- 如果本研究有这些问题：你自己填写的 MBTI 类型（或"不知道"），以及结束时简短问卷的回答（年龄段、室友的对话有多自然、你的意见）。
- 你同意了本说明、说明的版本和同意的时间。
我们不会询问你的姓名、电子邮箱或任何联系方式。你选择的昵称只用于在游戏中称呼你，不会被导出或公开。请不要在回复中写个人信息（姓名、地址、电话号码等）。

数据的用途
研究人员会分析你的回复。匿名化后的数据（替换 ID，并从文本中去除电子邮箱、电话号码、网址和姓名）可能会作为研究数据集公开，并可能被我们和其他人用于训练和评估语言模型。

恢复码
开始时你会得到一个个人恢复码（例如 K7QX-M2PD）。以后继续游戏时需要它；由于我们不保存姓名，它也是找到你的数据的唯一方式。请把它记下来。

退出研究
参加完全自愿。你可以随时停止游戏，也可以随时退出研究，无需说明理由：把你的恢复码告诉研究人员，研究人员会运行 `sharehouse sessions withdraw CODE`，删除你的回复、你的回答以及由它们计算出的所有结果。已经公开的匿名数据集的副本无法收回。

选择"我同意"即表示你已年满 18 岁，并同意按以上条件参加。

同意书版本 {version}
""",
}


def consent_text(language: str) -> ConsentText:
    """The consent text in ``language`` (``en``, ``ja``, ``zh``; aliases such as ``jp`` and ``cn``
    work); :class:`ValueError` for another language."""
    lang = lookup(language)
    if lang is None or lang not in LANGS:
        raise ValueError(f"no consent text in {language!r}: there is one in en, ja and zh")
    return ConsentText(
        version=CONSENT_VERSION,
        language=lang,
        title=_TITLES[lang],
        body=_BODIES[lang].format(version=CONSENT_VERSION).strip(),
    )
