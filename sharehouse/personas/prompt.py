"""Prompts for the simulated user: a persona description, the system text and the chat layout.

The layout keeps everything stable first (instructions, persona, style examples) and lets the
dialogue grow at the end, so a local backend can reuse its KV cache from one turn to the next.
"""

from __future__ import annotations

from sharehouse.engine.users import PastTurn, TurnContext
from sharehouse.llm.base import Message
from sharehouse.personas.models import Persona

_DIMENSIONS: dict[str, dict[str, str]] = {
    # letter -> description per language
    "en": {
        "E": "outgoing",
        "I": "reserved",
        "S": "down-to-earth",
        "N": "imaginative",
        "T": "logical",
        "F": "warm-hearted",
        "J": "organised",
        "P": "easy-going",
    },
    "ja": {
        "E": "外向的",
        "I": "内向的",
        "S": "現実的",
        "N": "想像力豊か",
        "T": "論理的",
        "F": "情に厚い",
        "J": "計画的",
        "P": "臨機応変",
    },
    "zh": {
        "E": "外向",
        "I": "内敛",
        "S": "务实",
        "N": "富有想象力",
        "T": "理性",
        "F": "重感情",
        "J": "有条理",
        "P": "随性",
    },
}
_DEGREE: dict[str, tuple[str, str, str]] = {
    "en": ("slightly", "clearly", "very"),
    "ja": ("やや", "かなり", "とても"),
    "zh": ("有点", "比较", "非常"),
}
_FORMALITY: dict[str, dict[str, str]] = {
    "en": {
        "casual": "casual, relaxed texting",
        "neutral": "plain and friendly",
        "polite": "polite and considerate",
        "very_polite": "very polite and formal",
    },
    "ja": {
        "casual": "タメ口（くだけた話し方）",
        "neutral": "軽い丁寧語（です・ますとくだけた言い方が混ざる）",
        "polite": "です・ます調の丁寧語",
        "very_polite": "敬語（尊敬語・謙譲語を使うとても丁寧な話し方）",
    },
    "zh": {
        "casual": "随意、口语化",
        "neutral": "自然、平实",
        "polite": "礼貌、客气",
        "very_polite": "非常客气、正式，称对方为“您”",
    },
}
_PUNCTUATION: dict[str, dict[str, str]] = {
    "en": {
        "none": "almost no punctuation",
        "minimal": "light punctuation, often no final full stop",
        "full": "complete punctuation",
        "exclamations": "lots of exclamation marks",
        "ellipses": "trailing dots (...)",
    },
    "ja": {
        "none": "句読点はほとんど使わない",
        "minimal": "句読点は少なめで、文末の「。」は省きがち",
        "full": "句読点をきちんと使う",
        "exclamations": "「！」をよく使う",
        "ellipses": "「…」をよく使う",
    },
    "zh": {
        "none": "基本不用标点",
        "minimal": "标点较少，句末常不加句号",
        "full": "标点完整规范",
        "exclamations": "常用感叹号“！”",
        "ellipses": "常用省略号“……”",
    },
}
_LINE_BREAKS: dict[str, dict[str, str]] = {
    "en": {
        "never": "one line",
        "sometimes": "sometimes a new line between sentences",
        "often": "a new line for each sentence",
    },
    "ja": {"never": "改行しない", "sometimes": "ときどき改行する", "often": "一文ごとに改行する"},
    "zh": {"never": "不换行", "sometimes": "有时换行", "often": "每句话换一行"},
}


def _emoji_text(lang: str, rate: float) -> str:
    if rate <= 0:
        return {"en": "no emoji", "ja": "絵文字は使わない", "zh": "不用表情符号"}[lang]
    if rate < 0.2:
        return {"en": "an emoji now and then", "ja": "たまに絵文字を使う", "zh": "偶尔用表情符号"}[lang]
    return {"en": "emoji often", "ja": "絵文字をよく使う", "zh": "经常用表情符号"}[lang]


def _mbti_text(persona: Persona) -> str:
    lang = persona.language
    strengths = persona.mbti_strength
    parts: list[str] = []
    for letter, value in zip(
        persona.mbti, (strengths.ei, strengths.sn, strengths.tf, strengths.jp), strict=True
    ):
        degree = _DEGREE[lang][0 if value < 0.65 else (1 if value < 0.8 else 2)]
        word = _DIMENSIONS[lang][letter]
        parts.append(f"{degree} {word}" if lang == "en" else f"{degree}{word}")
    sep = ", " if lang == "en" else "、"
    return f"{persona.mbti} ({sep.join(parts)})" if lang == "en" else f"{persona.mbti}（{sep.join(parts)}）"


def length_text(persona: Persona) -> str:
    """The persona's typical reply length in words, e.g. '5-12 words' / '20〜50文字くらい'."""
    rl = persona.style.reply_length
    if persona.language == "en":
        return f"{rl.min}-{rl.max} words"
    if persona.language == "ja":
        return f"{rl.min}〜{rl.max}文字くらい"
    return f"{rl.min}~{rl.max}个字左右"


def persona_prompt(persona: Persona) -> str:
    """A plain, compact description of the persona, written to them ('You are ...') in their language."""
    s = persona.style
    lang = persona.language
    fmt = _FORMALITY[lang][s.formality]
    punct = _PUNCTUATION[lang][s.punctuation]
    breaks = _LINE_BREAKS[lang][s.line_breaks]
    emoji = _emoji_text(lang, s.emoji_rate)
    if lang == "en":
        habits = [fmt, f"{length_text(persona)} per message", punct, emoji, breaks]
        if s.casing == "lower":
            habits.append("all lower case")
        # No "typos" habit here: told to make typos, the model makes one in every other word. Slips
        # are added afterwards at the persona's measured rate (cleaning.add_typos).
        if s.question_rate >= 0.1:
            habits.append("now and then you ask something back")
        return (
            f"You are {persona.name}, {persona.age}, {persona.occupation}. {persona.background}\n"
            f"Personality: {_mbti_text(persona)}.\n"
            f"You value {', '.join(persona.values)}. You like {', '.join(persona.preferences)}.\n"
            f"How you write: {'; '.join(habits)}."
        )
    if lang == "ja":
        habits = [
            fmt,
            f"一人称は「{s.first_person}」",
            f"1回の返信は{length_text(persona)}",
            punct,
            emoji,
            breaks,
        ]
        if s.question_rate >= 0.1:
            habits.append("ときどき相手に聞き返す")
        return (
            f"あなたは{persona.name}（{persona.age}歳、{persona.occupation}）です。{persona.background}\n"
            f"性格: {_mbti_text(persona)}。\n"
            f"大切にしていること: {'、'.join(persona.values)}。好きなもの: {'、'.join(persona.preferences)}。\n"
            f"書き方: {'。'.join(habits)}。"
        )
    habits = [fmt, f"自称用“{s.first_person}”", f"每次回复{length_text(persona)}", punct, emoji, breaks]
    if s.question_rate >= 0.1:
        habits.append("偶尔反问对方")
    return (
        f"你是{persona.name}，{persona.age}岁，{persona.occupation}。{persona.background}\n"
        f"性格：{_mbti_text(persona)}。\n"
        f"看重：{'、'.join(persona.values)}。喜欢：{'、'.join(persona.preferences)}。\n"
        f"说话方式：{'；'.join(habits)}。"
    )


def _examples(persona: Persona) -> str:
    """The persona's style examples as question/answer pairs (older files: bare sample replies)."""
    s = persona.style
    pairs = [f"Q: {ex.question}\nA: {' / '.join(ex.answer.split(chr(10)))}" for ex in s.style_examples]
    pairs += [f"A: {' / '.join(sample.split(chr(10)))}" for sample in s.sample_replies]
    return "\n\n".join(pairs)


def system_prompt(persona: Persona) -> str:
    """The stable head of every simulated-user prompt: the task, the persona and style examples.

    The examples answer everyday questions unrelated to the house, to show how the persona writes;
    they are never replayed as earlier turns of the dialogue (a small model would copy them).
    """
    lang = persona.language
    examples = _examples(persona)
    if lang == "en":
        return (
            "You live in a shared house and are texting with your housemates over five days. "
            "You are a real person, not an assistant. When a housemate asks you something, answer it "
            "with your own opinion and a concrete detail, in English. Write only your own next message: "
            "no name label, no quotation marks, no narration, no explanations.\n\n"
            f"{persona_prompt(persona)}\n\n"
            "How you write, shown on other topics (copy the style, never these words):\n"
            f"{examples}"
        )
    if lang == "ja":
        return (
            "あなたはシェアハウスに住んでいて、五日間ハウスメイトとメッセージでやり取りします。"
            "AIアシスタントではなく、一人の人間です。聞かれたことには、自分の意見と具体的なことを入れて"
            "日本語で答えてください。書くのは自分の次のメッセージだけ。名前ラベル、かぎかっこ、ト書き、説明は書かないこと。\n\n"
            f"{persona_prompt(persona)}\n\n"
            "別の話題でのあなたの書き方の例（書き方だけまねして、言葉はそのまま使わないこと）:\n"
            f"{examples}"
        )
    return (
        "你住在一个合租房里，接下来五天要和室友们用消息聊天。"
        "你是一个真实的人，不是AI助手。室友问你问题时，用中文说出你自己的看法和一个具体的细节。"
        "只写你自己的下一条消息：不要加名字标签、引号、旁白或解释。\n\n"
        f"{persona_prompt(persona)}\n\n"
        "你在别的话题上的说话风格示例（只学风格，不要照抄原话）：\n"
        f"{examples}"
    )


def reminder(persona: Persona) -> str:
    """A one-line nudge sent as a final system message (tiny models forget the long system prompt)."""
    s = persona.style
    lang = persona.language
    if lang == "en":
        extra = ", all lower case" if s.casing == "lower" else ""
        return f"Now reply as {persona.first_name}: {length_text(persona)}{extra}, {_FORMALITY['en'][s.formality]}."
    if lang == "ja":
        register = {
            "casual": "タメ口",
            "neutral": "軽い丁寧語",
            "polite": "です・ます調",
            "very_polite": "敬語",
        }[s.formality]
        return f"{persona.name}として日本語で返信: {register}、{length_text(persona)}。"
    return f"以{persona.name}的身份用中文回复：{_FORMALITY['zh'][s.formality]}，{length_text(persona)}。"


def day_marker(lang: str, day: int) -> str:
    return {"en": f"[Day {day}]", "ja": f"[{day}日目]", "zh": f"[第{day}天]"}[lang]


def history_window(
    history: list[PastTurn], max_turns: int, step: int, max_chars: int | None = None
) -> list[PastTurn]:
    """The most recent turns, dropped from the front ``step`` at a time so the prefix stays stable.

    At most ``max_turns`` turns and (when given) about ``max_chars`` characters of dialogue.
    """
    if max_turns <= 0:
        return []
    step = max(1, min(step, max_turns))
    start = 0
    if len(history) > max_turns:
        start = ((len(history) - max_turns) // step + 1) * step

    def size(turns: list[PastTurn]) -> int:
        return sum(len(t.message) + len(t.response) + len(t.npc_name) + 4 for t in turns)

    while max_chars is not None and start < len(history) and size(history[start:]) > max_chars:
        start += step
    return list(history[start:])


def build_messages(
    persona: Persona,
    ctx: TurnContext,
    *,
    max_history_turns: int = 12,
    history_step: int = 4,
    max_history_chars: int | None = 4000,
    with_reminder: bool = False,
    note: str | None = None,
) -> list[Message]:
    """System text, the dialogue so far as alternating turns, the housemate's new line (followed by
    the private ``note``: the persona's stance and the length, never kept in the history), and
    optionally a short system reminder of the persona's length and register."""
    lang = persona.language
    messages: list[Message] = [{"role": "system", "content": system_prompt(persona)}]
    last_day: int | None = None
    for turn in history_window(ctx.history, max_history_turns, history_step, max_history_chars):
        head = f"{day_marker(lang, turn.day)} " if turn.day != last_day else ""
        last_day = turn.day
        messages.append({"role": "user", "content": f"{head}{turn.npc_name}: {turn.message}"})
        messages.append({"role": "assistant", "content": turn.response})
    head = f"{day_marker(lang, ctx.day)} " if ctx.day != last_day else ""
    tail = f"\n\n{note}" if note else ""
    messages.append({"role": "user", "content": f"{head}{ctx.npc_name}: {ctx.message}{tail}"})
    if with_reminder:
        messages.append({"role": "system", "content": reminder(persona)})
    return messages


def max_tokens_for(persona: Persona) -> int:
    """A token budget that fits the persona's longest typical reply with room to finish a sentence."""
    top = persona.style.reply_length.max
    per_unit = {"en": 1.6, "ja": 1.2, "zh": 1.1}[persona.language]
    return int(max(32, min(400, top * per_unit * 1.5 + 16)))


def stop_sequences(ctx: TurnContext, extra_names: tuple[str, ...] = ()) -> list[str]:
    """Where a reply must end: a blank line, or someone else starting to speak."""
    names = {ctx.npc_name, *extra_names, *(t.npc_name for t in ctx.history)}
    stops = ["\n\n", "<|im_end|>", "<|endoftext|>", "\nUser:", "\nMe:", "\nAssistant:"]
    stops += [f"\n{name}:" for name in sorted(names) if name]
    return stops
