"""A resident's call-back request, kept on their case: the time window and, only with its own
consent, the phone number (shown on the case alone; retention erases it with the case)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from handoff.models import Case

# Hyphens as phones and IMEs type them (a long vowel mark, minus signs, dashes).
_DASHES = str.maketrans(dict.fromkeys("ー−‐‑‒–—―ｰ", "-"))
_NUMBER = re.compile(r"\+?[0-9][0-9\- ()]{8,18}[0-9]")
MAX_PHONE = 40


def phone_number(words: str) -> str:
    """The number in what the resident typed: full-width digits and dashes made plain (NFKC,
    as everywhere else the bot reads words); the words themselves, shortened, when no number of
    10 to 13 digits is found (the counsellor reads them)."""
    plain = unicodedata.normalize("NFKC", words).translate(_DASHES).strip()
    for found in _NUMBER.finditer(plain):
        if 10 <= len(re.sub(r"[^0-9]", "", found.group())) <= 13:
            return found.group().strip()
    return plain[:MAX_PHONE]


def request(case: Case, *, window: str | None, phone: str | None, phone_consent: bool,
            now: datetime) -> None:
    number = phone_number(phone) if phone_consent and phone else None
    case.callback = {"window": window, "phone": number or None, "phone_consent": phone_consent,
                     "at": now.isoformat()}
