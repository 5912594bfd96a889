"""Running a real study: consent as data, resume codes, the participant instruments, withdrawal.

- :mod:`~sharehouse.study.consent`: the versioned consent texts (en, ja, zh).
- :mod:`~sharehouse.study.codes`: resume codes (two groups of four, ``K7QX-M2PD``; stored only as sha256).
- :mod:`~sharehouse.study.config`: a study file (which instruments it asks) and the answers' shapes.
- :mod:`~sharehouse.study.participants`: register, find by code, post-game answers, withdraw, status.
"""

from sharehouse.study.codes import code_sha256, new_resume_code, normalize_code
from sharehouse.study.config import (
    AGE_BANDS,
    MBTI_CHOICES,
    MBTI_UNKNOWN,
    PostAnswers,
    StudyConfig,
    StudyError,
    load_study,
)
from sharehouse.study.consent import CONSENT_VERSION, ConsentText, consent_text
from sharehouse.study.participants import (
    STUDY_SOURCE,
    Participant,
    ParticipantError,
    ParticipantStatus,
    UnknownCodeError,
    WithdrawReport,
    find_by_code,
    record_post_answers,
    register,
    study_status,
    withdraw,
)

__all__ = [
    "AGE_BANDS",
    "CONSENT_VERSION",
    "MBTI_CHOICES",
    "MBTI_UNKNOWN",
    "STUDY_SOURCE",
    "ConsentText",
    "Participant",
    "ParticipantError",
    "ParticipantStatus",
    "PostAnswers",
    "StudyConfig",
    "StudyError",
    "UnknownCodeError",
    "WithdrawReport",
    "code_sha256",
    "consent_text",
    "find_by_code",
    "load_study",
    "new_resume_code",
    "normalize_code",
    "record_post_answers",
    "register",
    "study_status",
    "withdraw",
]
