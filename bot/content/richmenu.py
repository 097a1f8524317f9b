"""The LINE rich menu's layout, from the copy (`messages.yaml` `richmenu`): where each tile sits
and the rich menu object LINE is asked to create. Pure: the drawing and the calls are the
platform's (bot/platform/richmenu.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.content.schema import RichMenuArea, RichMenuCopy

# LINE's compact size (2500x843): the menu covers less of the talk than the large one.
WIDTH, HEIGHT = 2500, 843
# The name of every rich menu tsunagu makes (LINE shows it to nobody): a new one replaces
# the ones of this name.
NAME = "tsunagu"
RESUME = "resume"  # the engine's postback for "the current question again" (or the start)


def name_of(language: str | None) -> str:
    """The name of the menu drawn in a language (None: the default, in standard Japanese),
    by which the sender finds the one to link to a resident who chose that language."""
    return NAME if language is None else f"{NAME}:{language}"


def is_ours(name: str) -> bool:
    return name == NAME or name.startswith(f"{NAME}:")


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    width: int
    height: int
    area: RichMenuArea


def _columns(count: int) -> int:
    return count if count <= 3 else (2 if count == 4 else 3)


def tiles(copy: RichMenuCopy, width: int = WIDTH, height: int = HEIGHT) -> list[Tile]:
    """The tiles in reading order, in rows: four make two rows of two, up to three one row,
    five or six two rows of three (a shorter last row shares its width). Edges are whole
    pixels and the tiles cover the menu exactly, so every pixel taps something."""
    areas = copy.areas
    columns = _columns(len(areas))
    rows = [areas[i : i + columns] for i in range(0, len(areas), columns)]
    ys = [round(r * height / len(rows)) for r in range(len(rows) + 1)]
    out: list[Tile] = []
    for r, row in enumerate(rows):
        xs = [round(c * width / len(row)) for c in range(len(row) + 1)]
        out += [Tile(xs[c], ys[r], xs[c + 1] - xs[c], ys[r + 1] - ys[r], area)
                for c, area in enumerate(row)]
    return out


def action(area: RichMenuArea) -> dict[str, Any]:
    """The LINE action of a tile; its label is what accessibility features read aloud."""
    if area.postback is not None:
        found: dict[str, Any] = {"type": "postback", "label": area.label, "data": area.postback}
        if area.display_text is not None:
            found["displayText"] = area.display_text
        return found
    return {"type": "message", "label": area.label, "text": area.text}


def request(copy: RichMenuCopy, name: str = NAME) -> dict[str, Any]:
    """LINE's rich menu object (RichMenuRequest), shown open by default."""
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": name,
        "chatBarText": copy.chat_bar,
        "areas": [{"bounds": {"x": t.x, "y": t.y, "width": t.width, "height": t.height},
                   "action": action(t.area)} for t in tiles(copy)],
    }


def problems(copy: RichMenuCopy, commands: Iterable[str]) -> list[str]:
    """Tiles whose postback the flow would not understand: `g=` must name one of the flow's
    global `commands` or `resume`."""
    known = {*commands, RESUME}
    out = []
    for area in copy.areas:
        if area.postback is None:
            continue
        command = (parse_qs(area.postback).get("g") or [""])[0]
        if command not in known:
            out.append(f"richmenu tile {area.label!r}: postback {area.postback!r} must be "
                       f"g=<command>, one of {', '.join(sorted(known))}")
    return out
