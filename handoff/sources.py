"""How a resident came to the account (相談経路) on their case: recorded from a department's
link when the case opens (bot/flows/referral_links.py, handoff/cases.py), set or corrected by
a counsellor here. A category from content `referrals.sources`, or none (不明): never words."""

from __future__ import annotations

from collections.abc import Collection

from handoff.casework import CaseworkError, check_may_act
from handoff.models import Case, Counsellor

UNKNOWN = ""  # the form's 「不明」: no source recorded


def set_source(*, case: Case, counsellor: Counsellor, source: str,
               known: Collection[str]) -> str:
    """Sets the case's source (UNKNOWN clears it), for whoever may act on the case; returns
    what the audit log says (ids only)."""
    check_may_act(case, counsellor)
    chosen = source.strip()
    if chosen != UNKNOWN and chosen not in known:
        raise CaseworkError("source_unknown")
    before = case.source
    case.source = chosen or None
    return f"source {before or '-'} -> {case.source or '-'}"
