"""Durations as the desk reads them, in the console and its figures alike."""

from __future__ import annotations


def minutes_text(minutes: float | None) -> str:
    """「45分」「2時間5分」「3日4時間」, or 「—」 when nothing was measured."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 60:
        return f"{whole}分"
    if whole < 24 * 60:
        hours, rest = divmod(whole, 60)
        return f"{hours}時間{rest}分" if rest else f"{hours}時間"
    days, rest = divmod(whole, 24 * 60)
    return f"{days}日{rest // 60}時間" if rest // 60 else f"{days}日"
