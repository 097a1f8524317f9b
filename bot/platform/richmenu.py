"""`tsunagu line richmenu`: the rich menu's image drawn from the content's words, then the menu
created at LINE, its image uploaded and the menu made everyone's default.

The image is calm and plain: four large tiles, dark words on white, each with a simple
picture in a coloured circle (drawn with shapes: no image files to keep). Japanese needs a
font with its glyphs: TSUNAGU_RICHMENU_FONT, or one of the usual CJK fonts of the system
(Debian's fonts-noto-cjk or fonts-ipafont-gothic)."""

from __future__ import annotations

import contextlib
import functools
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.content import richmenu as layout
from bot.content.schema import RichMenuCopy
from bot.edge.line_client import LineApiError, RichMenuClient
from bot.releases.load import Content

MAX_IMAGE_BYTES = 1024 * 1024  # LINE's limit for a rich menu image
SCALE = 2  # drawn twice as large, then reduced: smooth edges without an anti-aliasing library

# (bold, regular) pairs, most pleasant first; the first whose bold file exists is used.
FONT_CANDIDATES: list[tuple[str, str]] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
     "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
     "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
     "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKjp-Bold.otf",
     "/usr/share/fonts/opentype/noto/NotoSansCJKjp-Regular.otf"),
    ("/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
     "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf"),
    ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
     "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    ("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
     "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
    ("/System/Library/Fonts/ヒラギノ角ゴシック W6.ttc",
     "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc"),
]

BACKGROUND = (232, 236, 241)  # the gaps between tiles
TILE = (255, 255, 255)
INK = (28, 38, 50)  # the words: about 15:1 on white
HINT = (74, 86, 99)  # the short line: about 7:1 on white
ICON_COLOURS = {  # each light enough for white shapes, dark enough to read as a colour
    "chat": (31, 122, 85),
    "person": (42, 92, 143),
    "phone": (192, 57, 43),
    "globe": (106, 76, 147),
}


class NoFont(Exception):
    """No font with Japanese glyphs was found."""


# Devanagari (Nepali), which the CJK fonts lack: drawn in its own font, shaped by Pillow's
# raqm layout. Debian: fonts-noto-ui-core (or fonts-noto-core).
DEVANAGARI_CANDIDATES: list[tuple[str, str]] = [
    ("/usr/share/fonts/truetype/noto/NotoSansDevanagariUI-Bold.ttf",
     "/usr/share/fonts/truetype/noto/NotoSansDevanagariUI-Regular.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf",
     "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf"),
]
_DEVANAGARI = re.compile(r"[\u0900-\u097f\ua8e0-\ua8ff]")


@dataclass(frozen=True)
class Fonts:
    bold: Path
    regular: Path
    devanagari: tuple[Path, Path] | None = None  # (bold, regular)

    def path(self, bold: bool, devanagari: bool) -> Path:
        if devanagari and self.devanagari is not None:
            return self.devanagari[0 if bold else 1]
        return self.bold if bold else self.regular

    def can_draw(self, copy: RichMenuCopy) -> bool:
        """False when the copy is in a script none of the fonts has (then no menu is made in
        that language, and its residents keep the default)."""
        words = " ".join(f"{a.label} {a.hint or ''}" for a in copy.areas)
        return self.devanagari is not None or not _DEVANAGARI.search(words)


def _runs(text: str) -> list[tuple[str, bool]]:
    """The text in pieces of one script each: (piece, is Devanagari). A space or mark goes
    with the piece it follows, so a word is never split."""
    runs: list[tuple[str, bool]] = []
    for ch in text:
        deva = bool(_DEVANAGARI.match(ch))
        if runs and (runs[-1][1] == deva or not ch.strip()):
            runs[-1] = (runs[-1][0] + ch, runs[-1][1])
        else:
            runs.append((ch, deva))
    return runs


def find_fonts(explicit: Path | None = None,
               candidates: list[tuple[str, str]] | None = None) -> Fonts:
    """The font to draw with: `explicit` (TSUNAGU_RICHMENU_FONT / --font) if given, else the
    first of the usual CJK fonts present.

    Raises:
        NoFont: with what to install or set.
    """
    if explicit is not None:
        if not explicit.is_file():
            raise NoFont(f"the rich menu font {explicit} does not exist")
        return Fonts(explicit, explicit)
    devanagari = next(((Path(b), Path(r) if Path(r).is_file() else Path(b))
                       for b, r in DEVANAGARI_CANDIDATES if Path(b).is_file()), None)
    for bold, regular in FONT_CANDIDATES if candidates is None else candidates:
        if Path(bold).is_file():
            return Fonts(Path(bold), Path(regular) if Path(regular).is_file() else Path(bold),
                         devanagari)
    raise NoFont("no Japanese font found for the rich menu image: install one "
                 "(Debian/Ubuntu: apt-get install fonts-noto-cjk) or set "
                 "TSUNAGU_RICHMENU_FONT to a .ttf/.otf/.ttc file with Japanese glyphs")


@functools.lru_cache(maxsize=256)  # a CJK collection takes long to open: once per size
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)  # index 0: Japanese in Noto's collections


@dataclass(frozen=True)
class _Line:
    """One line of words at one size, each piece in the font of its script."""

    pieces: list[tuple[str, ImageFont.FreeTypeFont]]

    @classmethod
    def of(cls, text: str, fonts: Fonts, bold: bool, size: int) -> _Line:
        return cls([(t, _font(fonts.path(bold, deva), size)) for t, deva in _runs(text)])

    def length(self, pen: ImageDraw.ImageDraw) -> float:
        return sum(pen.textlength(t, font=f) for t, f in self.pieces)

    def box(self, pen: ImageDraw.ImageDraw) -> tuple[int, int]:
        """Top and bottom, from the baseline."""
        boxes = [pen.textbbox((0, 0), t, font=f, anchor="ls") for t, f in self.pieces]
        return int(min(b[1] for b in boxes)), int(max(b[3] for b in boxes))

    def draw(self, pen: ImageDraw.ImageDraw, at: tuple[int, int],
             fill: tuple[int, int, int]) -> None:
        x, y = at
        for t, f in self.pieces:
            pen.text((x, y), t, font=f, fill=fill, anchor="ls")
            x += int(pen.textlength(t, font=f))


def _fit(pen: ImageDraw.ImageDraw, text: str, fonts: Fonts, bold: bool, size: int,
         width: int) -> _Line:
    """The largest size up to `size` at which `text` fits `width` (never below 60 %)."""
    floor = int(size * 0.6)
    line = _Line.of(text, fonts, bold, size)
    while size > floor and line.length(pen) > width:
        size -= max(1, size // 20)
        line = _Line.of(text, fonts, bold, size)
    return line


def draw(copy: RichMenuCopy, fonts: Fonts) -> bytes:
    """The menu's image as PNG: LINE's size for the layout, each tile where its area is."""
    s = SCALE
    image = Image.new("RGB", (layout.WIDTH * s, layout.HEIGHT * s), BACKGROUND)
    pen = ImageDraw.Draw(image)
    gap = 10 * s
    for tile in layout.tiles(copy):
        x0, y0 = tile.x * s + gap // 2, tile.y * s + gap // 2
        x1, y1 = (tile.x + tile.width) * s - gap // 2, (tile.y + tile.height) * s - gap // 2
        pen.rounded_rectangle((x0, y0, x1, y1), radius=28 * s, fill=TILE)
        height = y1 - y0
        diameter = int(height * 0.56)
        cx, cy = x0 + int(height * 0.12) + diameter // 2, (y0 + y1) // 2
        pen.ellipse((cx - diameter // 2, cy - diameter // 2, cx + diameter // 2,
                     cy + diameter // 2), fill=ICON_COLOURS[tile.area.icon])
        ICONS[tile.area.icon](pen, cx, cy, diameter, ICON_COLOURS[tile.area.icon])
        left = cx + diameter // 2 + int(height * 0.10)
        room = x1 - left - int(height * 0.08)
        _words(pen, (left, cy), room, height, tile.area.label, tile.area.hint, fonts)
    small = image.resize((layout.WIDTH, layout.HEIGHT), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG")  # optimize=True saves 1 % for four times the time
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:  # flat colours compress to a small fraction of this
        raise ValueError(f"the rich menu image is {len(data)} bytes; LINE takes 1 MB at most")
    return data


def _words(pen: ImageDraw.ImageDraw, at: tuple[int, int], room: int, height: int, label: str,
           hint: str | None, fonts: Fonts) -> None:
    """The label, large and bold, and the hint under it: the pair centred on `at`'s height."""
    left, middle = at
    label_line = _fit(pen, label, fonts, True, int(height * 0.25), room)
    label_top, label_bottom = label_line.box(pen)
    block = label_bottom - label_top
    if hint:
        hint_line = _fit(pen, hint, fonts, False, int(height * 0.14), room)
        hint_top, hint_bottom = hint_line.box(pen)
        spacing = int(height * 0.08)
        block += spacing + hint_bottom - hint_top
    baseline = middle - block // 2 - label_top
    label_line.draw(pen, (left, baseline), INK)
    if hint:
        hint_line.draw(pen, (left, baseline + label_bottom + spacing - hint_top), HINT)


# ---------------------------------------------------------------------- pictures, in white

Icon = Callable[[ImageDraw.ImageDraw, int, int, int, tuple[int, int, int]], None]
WHITE = (255, 255, 255)


def _chat(pen: ImageDraw.ImageDraw, cx: int, cy: int, d: int,
          colour: tuple[int, int, int]) -> None:
    """A speech bubble with three dots."""
    w, h = int(d * 0.56), int(d * 0.40)
    x0, y0 = cx - w // 2, cy - h // 2 - int(d * 0.05)
    pen.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=h // 3, fill=WHITE)
    tail_x, tail_y = x0 + int(w * 0.22), y0 + h
    pen.polygon([(tail_x, tail_y - 2), (tail_x + int(w * 0.2), tail_y - 2),
                 (tail_x - int(w * 0.06), tail_y + int(d * 0.13))], fill=WHITE)
    r = max(2, int(d * 0.038))
    for k in (-1, 0, 1):
        dx = cx + k * int(w * 0.24)
        pen.ellipse((dx - r, y0 + h // 2 - r, dx + r, y0 + h // 2 + r), fill=colour)


def _person(pen: ImageDraw.ImageDraw, cx: int, cy: int, d: int,
            colour: tuple[int, int, int]) -> None:
    """A head and shoulders."""
    r = int(d * 0.13)
    head_y = cy - int(d * 0.10)
    pen.ellipse((cx - r, head_y - r, cx + r, head_y + r), fill=WHITE)
    w, top = int(d * 0.27), cy + int(d * 0.08)
    pen.pieslice((cx - w, top, cx + w, top + 2 * int(d * 0.22)), 180, 360, fill=WHITE)


def _phone(pen: ImageDraw.ImageDraw, cx: int, cy: int, d: int,
           colour: tuple[int, int, int]) -> None:
    """A mobile phone: its body, the screen, the speaker and the button."""
    w, h = int(d * 0.32), int(d * 0.54)
    x0, y0 = cx - w // 2, cy - h // 2
    pen.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=int(w * 0.2), fill=WHITE)
    m = int(w * 0.12)
    pen.rectangle((x0 + m, y0 + int(h * 0.14), x0 + w - m, y0 + int(h * 0.78)), fill=colour)
    r = max(2, int(d * 0.025))
    by = y0 + int(h * 0.89)
    pen.ellipse((cx - r, by - r, cx + r, by + r), fill=colour)
    pen.line((cx - int(w * 0.15), y0 + int(h * 0.07), cx + int(w * 0.15), y0 + int(h * 0.07)),
             fill=colour, width=max(2, int(d * 0.02)))


def _globe(pen: ImageDraw.ImageDraw, cx: int, cy: int, d: int,
           colour: tuple[int, int, int]) -> None:
    """A globe: its outline, a meridian, the equator and two parallels."""
    r = int(d * 0.27)
    line = max(3, int(d * 0.035))
    pen.ellipse((cx - r, cy - r, cx + r, cy + r), outline=WHITE, width=line)
    pen.ellipse((cx - r // 2, cy - r, cx + r // 2, cy + r), outline=WHITE, width=line)
    pen.line((cx, cy - r, cx, cy + r), fill=WHITE, width=line)
    pen.line((cx - r, cy, cx + r, cy), fill=WHITE, width=line)
    for k in (-1, 1):
        y = cy + k * int(r * 0.55)
        half = int(math.sqrt(r * r - (y - cy) ** 2))
        pen.line((cx - half, y, cx + half, y), fill=WHITE, width=line)


ICONS: dict[str, Icon] = {"chat": _chat, "person": _person, "phone": _phone, "globe": _globe}


# ---------------------------------------------------------------------- at LINE


@dataclass(frozen=True)
class Menu:
    language: str | None  # None: the default, in standard Japanese
    copy: RichMenuCopy
    image: bytes


def drawn(content: Content, fonts: Fonts) -> tuple[list[Menu], list[str]]:
    """The default menu, and one in each language content has words for; also the languages
    left out because no font has their script (their residents keep the default)."""
    menus = [Menu(None, content.messages.richmenu, draw(content.messages.richmenu, fonts))]
    skipped = []
    for code in sorted(content.languages):
        copy = content.for_language(code).messages.richmenu
        if fonts.can_draw(copy):
            menus.append(Menu(code, copy, draw(copy, fonts)))
        else:
            skipped.append(code)
    return menus, skipped


def publish(client: RichMenuClient, copy: RichMenuCopy, image: bytes, *,
            replace: bool = True) -> str:
    """The default menu alone (see `publish_all`). Returns its id."""
    return publish_all(client, [Menu(None, copy, image)], replace=replace)[None]


def publish_all(client: RichMenuClient, menus: list[Menu], *,
                replace: bool = True) -> dict[str | None, str]:
    """Creates each menu (checked by LINE first) under its language's name and uploads its
    image, makes the standard Japanese one the default; then deletes the menus tsunagu made
    before (`replace`). Returns the new menus' ids by language.

    Raises:
        LineApiError: what LINE refused (the menus made by this call are deleted again: a menu
            without an image serves nobody, and half a set would mix old and new).
    """
    made: dict[str | None, str] = {}
    try:
        for menu in menus:
            body = layout.request(menu.copy, layout.name_of(menu.language))
            client.validate(body)
            made[menu.language] = client.create(body)
            client.upload_image(made[menu.language], menu.image, "image/png")
        if None in made:
            client.set_default(made[None])
    except LineApiError:
        for menu_id in made.values():
            with contextlib.suppress(LineApiError):
                client.delete(menu_id)
        raise
    if replace:
        keep = set(made.values())
        for old in client.menus():
            if layout.is_ours(old.name) and old.id not in keep:
                client.delete(old.id)
    return made
