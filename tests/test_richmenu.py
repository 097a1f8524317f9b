"""`tsunagu line richmenu`: the layout from the content's words, the image drawn from them, and
the menu created, given its image and made the default at LINE (the emulator)."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from line_emulator.validation import validate_rich_menu
from PIL import Image

from bot.content import richmenu as layout
from bot.content.schema import Messages, RichMenuArea, RichMenuCopy
from bot.edge.line_client import LineApiError, RichMenuInfo
from bot.platform import richmenu
from bot.releases.load import load_content
from bot.settings import DEFAULT_CONTENT_DIR
from tests.live import SECRET, TOKEN, LiveApp, free_port, wait_for

pytestmark = pytest.mark.sqlite_only  # the command uses no database: one backend is enough

TSUNAGU = str(Path(sys.executable).parent / "tsunagu")
LANGUAGES = sorted(p.stem for p in (DEFAULT_CONTENT_DIR / "languages").glob("*.yaml"))


def fonts() -> richmenu.Fonts:
    try:
        return richmenu.find_fonts()
    except richmenu.NoFont:
        if os.environ.get("CI"):
            pytest.fail("a Japanese font is required in CI (.ci/run installs fonts-noto-cjk)")
        pytest.skip("no Japanese font on this machine (apt-get install fonts-noto-cjk)")


def run(*args: str, live: LiveApp | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    if live is not None:
        base |= {"TSUNAGU_LINE_CHANNEL_SECRET": SECRET,
                 "TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
                 "TSUNAGU_LINE_API_BASE_URL": f"{live.url}/emulator",
                 "TSUNAGU_LINE_DATA_API_BASE_URL": f"{live.url}/emulator",
                 "TSUNAGU_DATABASE_URL": live.settings.database_url}
    return subprocess.run([TSUNAGU, "line", "richmenu", *args], env=base | env,
                          capture_output=True, text=True, timeout=120)


def content_copy(tmp_path: Path, **label_changes: str) -> Path:
    """The shipped content in a folder of the test's own, with some tiles' labels changed."""
    folder = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, folder)
    messages = folder / "messages.yaml"
    data = yaml.safe_load(messages.read_text(encoding="utf-8"))
    for area in data["richmenu"]["areas"]:
        area["label"] = label_changes.get(area["label"], area["label"])
    messages.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


# ---------------------------------------------------------------------- the layout (pure)


def test_the_tiles_cover_the_menu_and_line_takes_the_menu() -> None:
    areas = RichMenuCopy().areas
    for count in range(1, 7):
        copy = RichMenuCopy(areas=(areas * 2)[:count])
        tiles = layout.tiles(copy)
        assert len(tiles) == count
        # No two overlap and together they are the whole menu: every pixel taps one tile.
        for i, a in enumerate(tiles):
            for b in tiles[i + 1:]:
                assert a.x + a.width <= b.x or b.x + b.width <= a.x or \
                    a.y + a.height <= b.y or b.y + b.height <= a.y
        assert sum(t.width * t.height for t in tiles) == layout.WIDTH * layout.HEIGHT
        assert validate_rich_menu(layout.request(copy)) == []  # LINE's own checks, not ours


def test_four_tiles_are_two_rows_of_two_and_tap_as_the_content_says() -> None:
    copy = Messages.model_validate(yaml.safe_load(
        (DEFAULT_CONTENT_DIR / "messages.yaml").read_text(encoding="utf-8"))).richmenu
    menu = layout.request(copy)
    assert menu["size"] == {"width": 2500, "height": 843} and menu["chatBarText"] == "メニュー"
    bounds = [(a["bounds"]["x"], a["bounds"]["y"]) for a in menu["areas"]]
    assert bounds == [(0, 0), (1250, 0), (0, 422), (1250, 422)]
    actions = [a["action"] for a in menu["areas"]]
    assert [a["label"] for a in actions] == ["相談する", "人と話す", "緊急の連絡先",
                                             "ことば・Language"]
    assert actions[1] == {"type": "postback", "label": "人と話す", "data": "g=person",
                          "displayText": "人と話したい"}
    assert actions[2]["data"] == "g=emergency"
    assert actions[3] == {"type": "message", "label": "ことば・Language",
                          "text": "ことば・Language"}


def test_a_postback_the_flow_does_not_know_is_named() -> None:
    copy = RichMenuCopy(areas=[RichMenuArea(label="相談", icon="chat", postback="g=resume"),
                               RichMenuArea(label="謎", icon="globe", postback="g=dance")])
    [problem] = layout.problems(copy, ["person", "emergency"])
    assert "謎" in problem and "g=dance" in problem
    with pytest.raises(ValueError, match="either posts back"):
        RichMenuArea(label="両方", icon="chat", postback="g=person", text="人と話したい")


def test_content_without_a_richmenu_block_still_loads() -> None:
    data = yaml.safe_load((DEFAULT_CONTENT_DIR / "messages.yaml").read_text(encoding="utf-8"))
    del data["richmenu"]
    assert Messages.model_validate(data).richmenu == RichMenuCopy()


# ---------------------------------------------------------------------- the image


def test_the_image_is_lines_size_and_drawn_from_the_labels() -> None:
    found = fonts()
    image = richmenu.draw(RichMenuCopy(), found)
    assert len(image) <= 1024 * 1024
    with Image.open(io.BytesIO(image)) as png:
        assert png.format == "PNG" and png.size == (2500, 843)
    assert richmenu.draw(RichMenuCopy(), found) == image  # the same words, the same image
    renamed = RichMenuCopy(areas=[a.model_copy(update={"label": "相談したい"})
                                  if a.label == "相談する" else a
                                  for a in RichMenuCopy().areas])
    assert richmenu.draw(renamed, found) != image


def test_each_language_is_drawn_in_its_own_words_and_script() -> None:
    found = fonts()
    content = load_content(DEFAULT_CONTENT_DIR)
    menus, skipped = richmenu.drawn(content, found)
    assert menus[0].language is None and menus[0].copy == content.messages.richmenu
    assert [m.language for m in menus[1:]] == LANGUAGES and skipped == []
    nepali = next(m for m in menus if m.language == "ne")
    assert nepali.copy.areas[1].label == content.for_language("ne").tr("人と話す") != "人と話す"
    assert len({m.image for m in menus}) == len(menus)  # each in its own words


def test_nepali_words_are_drawn_in_a_devanagari_font() -> None:
    found = fonts()
    assert richmenu._runs("भाषा・Language") == [("भाषा", True), ("・Language", False)]
    assert richmenu._runs("आपत्कालीन नम्बर") == [("आपत्कालीन नम्बर", True)]
    nepali = load_content(DEFAULT_CONTENT_DIR).for_language("ne").messages.richmenu
    assert found.can_draw(nepali) == (found.devanagari is not None)
    without = richmenu.Fonts(found.bold, found.regular, None)
    assert not without.can_draw(nepali) and without.can_draw(RichMenuCopy())
    if os.environ.get("CI"):
        assert found.devanagari is not None, ".ci/run installs fonts-noto-ui-core"


def test_a_missing_font_is_said_plainly(tmp_path: Path) -> None:
    result = run("--dry-run", "--font", str(tmp_path / "nothing.ttf"))
    assert result.returncode == 2 and "nothing.ttf does not exist" in result.stderr
    with pytest.raises(richmenu.NoFont, match="fonts-noto-cjk"):
        richmenu.find_fonts(candidates=[(str(tmp_path / "a.ttc"), str(tmp_path / "b.ttc"))])


# ---------------------------------------------------------------------- at LINE (the emulator)


def test_the_command_creates_the_menu_uploads_its_image_and_sets_it_default(
        live: LiveApp, tmp_path: Path) -> None:
    fonts()
    drawn = tmp_path / "menu.png"
    dry = run("--dry-run", "--out", str(drawn))
    assert dry.returncode == 0, dry.stderr
    assert live.emulator.calls == []  # a dry run calls nobody

    result = run("--out", str(drawn), live=live)
    assert result.returncode == 0, result.stderr
    default = live.emulator.default_menu()
    assert default is not None and default.id in result.stdout
    assert default.image == drawn.read_bytes() and default.content_type == "image/png"
    assert default.body == layout.request(RichMenuCopy.model_validate(yaml.safe_load(
        (DEFAULT_CONTENT_DIR / "messages.yaml").read_text(encoding="utf-8"))["richmenu"]))
    # One menu more in each language, named for it, drawn in its words, never the default.
    by_name = {m.body["name"]: m for m in live.emulator.menus()}
    assert set(by_name) == {"tsunagu", *(f"tsunagu:{code}" for code in LANGUAGES)}
    english = by_name["tsunagu:en"]
    assert english.image == (tmp_path / "menu.en.png").read_bytes() != default.image
    assert [a["action"]["label"] for a in english.body["areas"]][:3] == [
        "Talk to us", "Talk to a person", "Emergency numbers"]
    assert english.body["chatBarText"] == "Menu"
    calls = [c for c in live.emulator.calls if c.method == "POST"]
    assert all(c.status == 200 for c in calls)
    assert [c.path for c in calls][:3] == [
        "/v2/bot/richmenu/validate", "/v2/bot/richmenu", f"/v2/bot/richmenu/{default.id}/content"]
    assert [c.path for c in calls if "/user/all/" in c.path] == [
        f"/v2/bot/user/all/richmenu/{default.id}"]
    assert len(calls) == 3 * len(by_name) + 1
    assert calls[2].body["contentType"] == "image/png"
    assert all(c.auth_ok for c in live.emulator.calls)

    # Run again (new words, say): the new menus replace the ones made before.
    changed = content_copy(tmp_path, **{"緊急の連絡先": "いますぐ電話"})
    again = run("--dir", str(changed), "--out", str(tmp_path / "changed.png"), live=live)
    assert again.returncode == 0, again.stderr
    newer = live.emulator.default_menu()
    assert newer is not None and newer.id != default.id
    now = live.emulator.menus()
    assert len(now) == len(by_name) and not {m.id for m in now} & {m.id for m in by_name.values()}
    assert newer.image == (tmp_path / "changed.png").read_bytes() != default.image
    assert newer.body["areas"][2]["action"]["label"] == "いますぐ電話"


def test_the_phone_page_shows_the_default_menu(live: LiveApp) -> None:
    fonts()
    assert run(live=live).returncode == 0
    shown = live.http.get("/emulator/api/richmenu").json()["richMenu"]
    assert [a["action"]["label"] for a in shown["areas"]][:2] == ["相談する", "人と話す"]
    image = live.http.get(f"/emulator/{shown['image']}")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_wrong_content_and_missing_credentials_stop_the_command(tmp_path: Path) -> None:
    fonts()
    folder = content_copy(tmp_path)
    messages = folder / "messages.yaml"
    data = yaml.safe_load(messages.read_text(encoding="utf-8"))
    data["richmenu"]["areas"][0]["postback"] = "g=nowhere"
    messages.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    wrong = run("--dir", str(folder), "--dry-run")
    assert wrong.returncode == 1 and "g=nowhere" in wrong.stderr
    unset = run()
    assert unset.returncode == 2 and "TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN" in unset.stderr


class RefusingLine:
    """LINE taking the menu but refusing its image."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def validate(self, menu: dict[str, Any]) -> None: ...

    def create(self, menu: dict[str, Any]) -> str:
        return "richmenu-" + "0" * 32

    def upload_image(self, menu_id: str, image: bytes, content_type: str) -> None:
        raise LineApiError(400, "The image must be 1 MB or smaller")

    def set_default(self, menu_id: str) -> None:
        raise AssertionError("never without its image")

    def menus(self) -> list[RichMenuInfo]:
        return []

    def delete(self, menu_id: str) -> None:
        self.deleted.append(menu_id)


def test_a_menu_whose_image_was_refused_is_deleted_again() -> None:
    line = RefusingLine()
    with pytest.raises(LineApiError):
        richmenu.publish(line, RichMenuCopy(), b"png")  # type: ignore[arg-type]
    assert line.deleted == ["richmenu-" + "0" * 32]


def test_the_demo_shows_the_rich_menu(tmp_path: Path) -> None:
    fonts()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    with (tmp_path / "demo.log").open("w") as log:
        proc = subprocess.Popen([TSUNAGU, "demo", "--port", str(port)], cwd=tmp_path, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            def shown() -> dict[str, Any] | None:
                assert proc.poll() is None, (tmp_path / "demo.log").read_text()
                try:
                    found = httpx.get(f"http://127.0.0.1:{port}/emulator/api/richmenu",
                                      trust_env=False).json()["richMenu"]
                except httpx.TransportError:
                    return None
                return found  # type: ignore[no-any-return]

            menu = wait_for(shown, timeout=60, interval=0.3)
            assert menu["chatBarText"] == "メニュー" and len(menu["areas"]) == 4
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
