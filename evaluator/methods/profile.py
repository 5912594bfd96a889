"""``gpg``: guided profile generation.

Three steps per user: (1) digest the history by answering one guiding question about what is
distinctive in how and what the user writes; (2) write a short descriptive profile of the user
from the history steered by that answer; (3) reply to each day-5 message from the profile and
the history. Steps 1 and 2 run once in ``fit``; their text is kept in ``fit_info``.
"""

from __future__ import annotations

from evaluator.methods.base import MethodBase, MethodContext, UserTask, register
from evaluator.methods.prompting import PromptPredictor
from evaluator.methods.promptkit import (
    all_names,
    demos,
    infer_text,
    language_name,
    reply_rules,
    setting,
    today,
)
from sharehouse.llm.base import Message

GUIDING_QUESTION = (
    "Which features of this person's replies would let someone recognise them among other people "
    "answering the same questions? Consider reply length, sentence shape, punctuation and emoji, "
    "first-person words, politeness or slang, how much they agree or push back, and the topics, "
    "values and preferences they keep coming back to. List the most distinctive features first."
)


def digest_messages(user: UserTask, ctx: MethodContext) -> list[Message]:
    return [
        {"role": "system", "content": "You study how one person chats and point out what is distinctive."},
        {
            "role": "user",
            "content": (
                f"Chat exchanges between a person ('You') and their housemates, in {language_name(user.language)}:\n\n"
                + demos(user.history, ctx)
                + "\n\nQuestion: "
                + GUIDING_QUESTION
                + " Answer in English, in at most six short bullet points."
            ),
        },
    ]


def profile_messages(user: UserTask, ctx: MethodContext, guidance: str) -> list[Message]:
    return [
        {"role": "system", "content": "You write short, concrete personal profiles of how someone chats."},
        {
            "role": "user",
            "content": (
                "Chat exchanges between a person ('You') and their housemates:\n\n"
                + demos(user.history, ctx)
                + "\n\nNotes on what is distinctive about this person:\n"
                + guidance.strip()
                + "\n\nUsing the exchanges and the notes, write a profile of this person in four to six "
                "sentences, in English, in the second person ('You write ...', 'You care about ...'): "
                "how long and in what manner you reply, your typical wording and punctuation, and your "
                "opinions and preferences. Write only the profile."
            ),
        },
    ]


@register("gpg")
class GuidedProfile(MethodBase):
    name = "gpg"
    description = (
        "Guided profile generation: digest the history with a guiding question, write a descriptive "
        "profile, reply from profile + history."
    )
    trains = False

    async def fit(self, user: UserTask, ctx: MethodContext) -> PromptPredictor:
        guidance = (await infer_text(ctx, digest_messages(user, ctx))).text.strip()
        profile = (await infer_text(ctx, profile_messages(user, ctx, guidance))).text.strip()
        system = "\n\n".join(
            [
                setting(all_names(user), user.language),
                "A profile of you, written from your earlier chats:\n" + (profile or "(no profile)"),
                "Your own earlier exchanges with your housemates (lines starting with 'You:' are exactly "
                "what you wrote):\n" + demos(user.history, ctx),
                "Answer as the person in the profile and the exchanges would: same length, same wording "
                "habits, same opinions. " + reply_rules(user.language),
            ]
        )
        info = {"guidance": guidance, "profile": profile}
        return PromptPredictor(
            ctx, system, user.language, all_names(user), lambda item: today(item, ctx), info
        )
