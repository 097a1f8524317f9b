"""Danger read the way residents write it, through the webhook and the emulator: split over
bubbles, in English, in romaji; a kind net when the reading is unsure; idioms left alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import RiskAssessmentRecord
from bot.nlp.analyzer import Analyzer
from bot.nlp.levels import Level
from bot.nlp.model import RiskModel
from handoff.models import CaseMessage, Priority
from tests.bot.test_risk import put_in_state, state_of, tel_links, the_case
from tests.live import LiveApp, Resident, conversation_of, texts


@pytest.fixture(autouse=True)
def shipped_reading_afterwards(live: LiveApp) -> Iterator[None]:
    """Tests here swap the server's analyser; the module's next test gets the shipped one."""
    library = live.runtime.library
    shipped = library.analyzer
    yield
    library.analyzer = shipped


def only_record(live: LiveApp, r: Resident) -> RiskAssessmentRecord:
    with live.session() as s:
        return s.scalars(select(RiskAssessmentRecord).where(
            RiskAssessmentRecord.conversation_id == conversation_of(live, r).id)).one()


def in_danger(live: LiveApp, r: Resident, answer: list[dict[str, Any]]) -> None:
    assert "tel:119" in tel_links(answer), texts(answer)
    case = the_case(live, r)
    assert case is not None and case.priority == Priority.IMMINENT
    assert state_of(live, r) == "emergency"


def rules_only(live: LiveApp) -> None:
    """This app's library reads with the rules alone (a new analyser: the shared one, which
    other apps of this process use, is left as it is)."""
    library = live.runtime.library
    library.analyzer = Analyzer(library.content.lexicon)


def test_a_plan_split_over_three_bubbles_is_read_together(live: LiveApp) -> None:
    # The mechanism, with the rules alone so that no bubble is imminent by itself.
    rules_only(live)
    r = Resident(live)
    put_in_state(live, r, "trouble")
    r.say("もう疲れました")
    second = r.say("薬を全部飲みます")
    assert "tel:119" not in tel_links(second)  # alone: a wish, not yet a time
    third = r.say("今夜")
    in_danger(live, r, third)
    with live.session() as s:
        record = s.scalars(select(RiskAssessmentRecord).order_by(
            RiskAssessmentRecord.id.desc())).first()
        assert record is not None and record.level == "imminent"
        assert record.model is not None and record.model["window"] == 3
        words = s.scalars(select(CaseMessage.text)).all()
    assert "今夜" in words


def test_a_split_message_reaches_emergency_with_the_shipped_reading(live: LiveApp) -> None:
    r = Resident(live)
    put_in_state(live, r, "trouble")
    r.say("仕事も家もなくした")
    r.say("もう生きていたくない")
    in_danger(live, r, r.say("これから海に行く"))


def test_the_window_does_not_repeat_an_alarm_already_answered(live: LiveApp) -> None:
    rules_only(live)
    r = Resident(live)
    put_in_state(live, r, "trouble")
    in_danger(live, r, r.say("今夜、薬を全部飲みます"))
    calm = r.say("はい")  # read with the alarm before it, but that was answered already
    assert "tel:119" not in tel_links(calm)


@pytest.mark.parametrize("words", ["I'm going to kill myself tonight",
                                   "konban kusuri wo zenbu nomu"])
def test_english_and_romaji_danger_interrupts(live: LiveApp, words: str) -> None:
    r = Resident(live)
    put_in_state(live, r, "trouble")
    in_danger(live, r, r.say(words))
    record = only_record(live, r)
    assert record.model is not None and record.model["script"] in ("en", "romaji")


IDIOMS = ["死ぬほど眠い", "テスト死んだ笑", "日曜の夜は月曜が来るのが死ぬほど嫌",
          "激辛ラーメンで死ぬかと思った"]


@pytest.mark.parametrize("words", IDIOMS)
def test_idioms_do_not_interrupt_the_intake(live: LiveApp, words: str) -> None:
    r = Resident(live)
    put_in_state(live, r, "trouble")
    answer = r.say(words)
    assert "tel:" not in "".join(tel_links(answer))
    assert "どなたのこと" in texts(answer)  # the intake goes on with its next question
    assert the_case(live, r) is None


UNSURE = "ぼんやりしている"


def unsure_model(level: Level) -> RiskModel:
    """A model that knows one word, and is unsure about it at `level`: the conversation's
    part is tested apart from what any trained model happens to say."""
    heads = []
    for head in (Level.CONCERN, Level.HIGH, Level.IMMINENT):
        weight = 4.0 if head <= level else 0.0
        heads.append({"level": head.label, "intercept": -3.0, "threshold": 0.9,
                      "unsure": 0.5, "weights": [weight, 0.0]})
    return RiskModel.from_data({"format": 2, "version": "unsure-test", "meta": {},
                                "features": ["w:ぼんやり", "w:いる"], "heads": heads})


@pytest.mark.parametrize("level", [Level.HIGH, Level.IMMINENT])
def test_an_unsure_reading_offers_a_person_and_the_numbers(live: LiveApp,
                                                           level: Level) -> None:
    library = live.runtime.library  # a new analyser: the shared one is left as it is
    library.analyzer = Analyzer(library.content.lexicon, unsure_model(level))
    r = Resident(live)
    put_in_state(live, r, "trouble")
    answer = r.say(UNSURE)
    assert "ひとりで抱えなくて大丈夫" in texts(answer) and "人と話したい" in texts(answer)
    assert "tel:119" in tel_links(answer)
    assert "どなたのこと" in texts(answer)  # not an emergency: the intake goes on
    record = only_record(live, r)
    assert record.model is not None and record.model["model"]["unsure"] == level.label
    case = the_case(live, r)
    if level == Level.IMMINENT:  # unsure of a life: a person looks, consent or not
        assert case is not None and case.priority == Priority.HIGH
        assert case.basis == "life_safety"
    else:
        assert case is None
