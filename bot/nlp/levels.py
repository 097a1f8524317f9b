"""Risk levels as the domain notes (DOMAIN.md §10) define them: ordered, the safer is the max."""

from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    NONE = 0
    CONCERN = 1
    HIGH = 2
    IMMINENT = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, name: str) -> Level:
        return cls[name.upper()]
