"""The persona schema: who a synthetic user is and how they write."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sharehouse.lang import LANGS
from sharehouse.lang import Lang as Language

Formality = Literal["casual", "neutral", "polite", "very_polite"]
Punctuation = Literal["none", "minimal", "full", "exclamations", "ellipses"]
Casing = Literal["lower", "normal"]
LineBreaks = Literal["never", "sometimes", "often"]
Elaboration = Literal["terse", "moderate", "elaborate"]

MBTI_TYPES: tuple[str, ...] = tuple(a + b + c + d for a in "EI" for b in "SN" for c in "TF" for d in "JP")
_MBTI_RE = re.compile(r"^[EI][SN][TF][JP]$")
_PERSONA_ID_RE = re.compile(rf"^p-({'|'.join(LANGS)})-\d{{3,}}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MBTIStrength(_Strict):
    """How strongly the persona leans to the dominant pole of each dimension (0.5 = balanced)."""

    ei: float = Field(ge=0.5, le=1.0, description="E/I")
    sn: float = Field(ge=0.5, le=1.0, description="S/N")
    tf: float = Field(ge=0.5, le=1.0, description="T/F")
    jp: float = Field(ge=0.5, le=1.0, description="J/P")


class LengthRange(_Strict):
    """A typical reply length: words for English, characters for Japanese and Chinese."""

    min: int = Field(ge=1)
    max: int = Field(ge=1)
    unit: Literal["words", "chars"]

    @model_validator(mode="after")
    def _ordered(self) -> LengthRange:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is smaller than min ({self.min})")
        return self


class StyleExample(_Strict):
    """A question on an everyday topic and the persona's answer: an example of how they write."""

    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)


class WritingStyle(_Strict):
    """The habits that make one person's messages recognisable.

    ``style_examples`` show the persona answering varied everyday questions; files written before
    they existed carry ``sample_replies`` (bare example replies) instead, which still load.
    """

    reply_length: LengthRange
    formality: Formality
    first_person: str | None = Field(description="ja: 私/僕/俺/うち/自分…; zh: 我/人家/咱…; en: null")
    punctuation: Punctuation
    emoji_rate: float = Field(ge=0.0, le=1.0, description="share of replies carrying an emoji")
    casing: Casing
    line_breaks: LineBreaks
    typo_rate: float = Field(ge=0.0, le=0.3, description="share of words with a slip of the finger")
    elaboration: Elaboration
    question_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="share of replies asking back")
    style_examples: list[StyleExample] = Field(default_factory=list, max_length=6)
    sample_replies: list[str] = Field(default_factory=list, max_length=3)

    @field_validator("sample_replies")
    @classmethod
    def _non_empty_samples(cls, value: list[str]) -> list[str]:
        if any(not s.strip() for s in value):
            raise ValueError("sample replies must not be empty")
        return value

    @model_validator(mode="after")
    def _has_examples(self) -> WritingStyle:
        if len(self.style_examples) + len(self.sample_replies) < 2:
            raise ValueError("a style needs at least two style_examples (or, in older files, sample_replies)")
        return self

    def example_texts(self) -> list[str]:
        """Every example text the persona was shown (answers and old-style samples): never to be copied."""
        return [ex.answer for ex in self.style_examples] + list(self.sample_replies)


class Persona(_Strict):
    """One synthetic participant."""

    id: str
    name: str = Field(min_length=1)
    language: Language
    age: int = Field(ge=16, le=99)
    occupation: str = Field(min_length=1)
    background: str = Field(min_length=1)
    mbti: str
    mbti_strength: MBTIStrength
    values: list[str] = Field(min_length=1)
    preferences: list[str] = Field(min_length=1)
    style: WritingStyle

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not _PERSONA_ID_RE.match(value):
            raise ValueError(f"persona id {value!r} does not look like 'p-en-007'")
        return value

    @field_validator("mbti")
    @classmethod
    def _mbti_format(cls, value: str) -> str:
        if not _MBTI_RE.match(value):
            raise ValueError(f"{value!r} is not a four-letter MBTI type such as 'INFP'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Persona:
        if not self.id.startswith(f"p-{self.language}-"):
            raise ValueError(f"id {self.id!r} does not match language {self.language!r}")
        style = self.style
        want_unit = "words" if self.language == "en" else "chars"
        if style.reply_length.unit != want_unit:
            raise ValueError(f"reply_length.unit must be {want_unit!r} for language {self.language!r}")
        if self.language == "en":
            if style.first_person is not None:
                raise ValueError("first_person must be null for English personas")
        else:
            if not style.first_person:
                raise ValueError(f"first_person is required for language {self.language!r}")
            if style.casing != "normal":
                raise ValueError("casing 'lower' only applies to English personas")
        return self

    @property
    def first_name(self) -> str:
        """The name the persona goes by among housemates."""
        if self.language == "en":
            return self.name.split()[0]
        return self.name
