"""The shapes of the administrator-edited files in `content/` (copy, numbers, places,
follow-up rules), checked as they are read. Pure: no file, database or network access."""

from __future__ import annotations

import re
from datetime import date, time
from string import Formatter
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from bot.line import MAX_TEXT_UTF16, utf16_len

Bubbles = list[str]
MAX_OPENING = 3  # bubbles before the emergency numbers
MAX_HOTLINES = 15


_SHORT_DIAL = re.compile(r"#[0-9]{3,6}")  # #8008, #7119: dialled as written
_EMERGENCY = re.compile(r"1[0-9]{2}")  # 110, 119, 189
_SUBSCRIBER = re.compile(r"0[0-9]+(-[0-9]+){0,2}")  # 0120-279-338, 0570783556


def tel_problem(tel: str) -> str | None:
    """Why `tel` is not a number a phone can dial from a `tel:` link (None when it is)."""
    if _SHORT_DIAL.fullmatch(tel) or _EMERGENCY.fullmatch(tel):
        return None
    if _SUBSCRIBER.fullmatch(tel) and len(tel.replace("-", "")) in (10, 11):
        return None
    return (f"'{tel}' is not a phone number: write it as people dial it, e.g. 119, #8008 or "
            "0120-279-338 (digits, hyphens only between groups)")


# The words the code puts around a number (bot/content/texts.py CODE_TEXTS), in Japanese until
# `bot.content.texts.localize_resources` gives a number its resident's words.
DIAL_WORDS = {"call": "{tel} に電話する", "free": "無料", "paid": "通話料がかかります",
              "day_separator": "・"}


class Dialable(BaseModel):
    """A number a resident can call from a `tel:` button, written as people read it."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=40)  # the service's name
    tel: str
    hours: str | None = Field(default=None, min_length=1, max_length=40)  # 24時間, 毎日16時〜21時
    note: str | None = Field(default=None, min_length=1, max_length=80)
    _words: dict[str, str] = PrivateAttr(default_factory=lambda: dict(DIAL_WORDS))

    @field_validator("tel")
    @classmethod
    def _dialable(cls, value: str) -> str:
        problem = tel_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def uri(self) -> str:
        """`tel:` with digits only; `#` percent-encoded, since a bare `#` starts a fragment."""
        return "tel:" + self.tel.replace("-", "").replace("#", "%23")

    @property
    def call_text(self) -> str:
        """The button's words: 「0120-279-338 に電話する」."""
        return self._words["call"].format(tel=self.tel)

    @property
    def terms(self) -> str:
        return self.hours or ""

    def in_words(self, words: dict[str, str]) -> None:
        self._words = {**DIAL_WORDS, **words}


class Hotline(Dialable):
    """A number residents can call, and the dangers it serves."""

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    free: bool | None = None  # None: not known, nothing is said about the cost
    categories: list[str] = Field(min_length=1)  # the risk categories (content/risk/) it serves
    general: bool = False  # offered when the danger is not known (the 「緊急」 button)
    # The languages it answers in besides Japanese (content/languages codes, e.g. en, vi):
    # offered, first and on the 「緊急」 button too, to a resident who chose one of them.
    languages: list[str] = Field(default_factory=list)
    for_japanese: bool = True  # false: offered only to residents of its `languages`

    @property
    def terms(self) -> str:
        """「24時間・無料」: when it answers and what it costs, as far as the content knows."""
        cost = {True: self._words["free"], False: self._words["paid"], None: ""}[self.free]
        return self._words["day_separator"].join(part for part in (self.hours, cost) if part)


class Danger(BaseModel):
    """Risk categories that call for the same numbers first (an overdose: 119, then #7119)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    categories: list[str] = Field(min_length=1)
    first: list[str] = Field(min_length=1)  # hotline ids, most urgent first


class RichMenuArea(BaseModel):
    """One tile of the LINE rich menu (`tsunagu line richmenu`): its words, a short line under
    them, a picture, and what a tap does: a postback (`postback` data, the resident's chat
    showing `display_text`) or a message the resident sends (`text`)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=20)  # LINE: an action's label, 20 at most
    hint: str | None = Field(default=None, min_length=1, max_length=20)
    icon: Literal["chat", "person", "phone", "globe"]
    postback: str | None = Field(default=None, min_length=1, max_length=300)
    display_text: str | None = Field(default=None, min_length=1, max_length=300)
    text: str | None = Field(default=None, min_length=1, max_length=300)

    @model_validator(mode="after")
    def _one_action(self) -> RichMenuArea:
        if (self.postback is None) == (self.text is None):
            raise ValueError("a tile either posts back (postback) or sends words (text)")
        if self.display_text is not None and self.postback is None:
            raise ValueError("display_text goes with postback")
        return self


def _default_areas() -> list[RichMenuArea]:
    # g=resume: a new resident starts the intake, one in it gets their current question again.
    return [
        RichMenuArea(label="相談する", hint="はじめる・続ける", icon="chat",
                     postback="g=resume", display_text="相談する"),
        RichMenuArea(label="人と話す", hint="相談員につなぎます", icon="person",
                     postback="g=person", display_text="人と話したい"),
        RichMenuArea(label="緊急の連絡先", hint="すぐに電話できます", icon="phone",
                     postback="g=emergency", display_text="緊急の連絡先"),
        RichMenuArea(label="ことば・Language", hint="日本語 / English", icon="globe",
                     text="ことば・Language"),
    ]


class RichMenuCopy(BaseModel):
    """The rich menu below the chat: the chat bar's words and the tiles, in reading order."""

    model_config = ConfigDict(extra="forbid")
    chat_bar: str = Field("メニュー", min_length=1, max_length=14)  # LINE: 14 at most
    areas: list[RichMenuArea] = Field(default_factory=_default_areas, min_length=1,
                                      max_length=6)


class Messages(BaseModel):
    """Copy outside any flow."""

    group_notice: Bubbles
    trouble: Bubbles
    risk_imminent: Bubbles
    # The first words for a danger of content/resources.yaml (`dangers`), by its id;
    # `risk_imminent` serves the dangers not listed here.
    risk_imminent_by_danger: dict[str, Bubbles] = Field(default_factory=dict)
    risk_high: Bubbles
    # Words that fit a high-risk danger (hunger, violence, a child...), by `dangers` id.
    risk_high_by_danger: dict[str, Bubbles] = Field(default_factory=dict)
    # The resident chose a language: said in that language.
    language_chosen: Bubbles = Field(default_factory=lambda: [
        "これからは、日本語でご案内します。ことばは、メニューの「ことば・Language」で、いつでも変えられます。"])
    # Contact rules: the only words a lock screen shows of a held message, and the button.
    contact_notice: str = Field("お知らせが1件あります。", min_length=1, max_length=60)
    contact_notice_show: str = Field("見る", min_length=1, max_length=20)
    # The model is unsure a message is safe: a kind word, a person and the numbers offered.
    risk_unsure: Bubbles
    risk_unsure_call: str = Field(min_length=1, max_length=160)  # above the call buttons
    counsellor_joined: Bubbles
    case_closed: Bubbles
    # A support plan agreed ({name}: the counsellor, {next}: the next look at it): support
    # begins and the chat goes on; and its end. Defaults keep older releases valid.
    support_started: Bubbles = Field(default_factory=lambda: [
        "相談員の{name}と、これからの支援の計画を一緒に決めました。ご相談は、ここで終わりでは"
        "ありません。これからも、このトークで連絡を取り合えます。",
        "次に様子をうかがう目安は、{next}ごろです。その前でも、困ったことや変わったことが"
        "あれば、いつでも書いてください。"])
    support_closed: Bubbles = Field(default_factory=lambda: [
        "これまでの支援を、いったん区切りにします。一緒に取り組んでくださって、"
        "ありがとうございました。",
        "また困ったときは、いつでもこのトークに話しかけてください。"])
    returned_to_bot: Bubbles
    # A counsellor asks to hand the case to another team's desk ({team}): the resident
    # consented to one named desk, so they are asked first. Defaults keep older releases valid.
    transfer_ask: Bubbles = Field(default_factory=lambda: [
        "担当の相談員から、このご相談を「{team}」に引き継ぎたいというお願いがありました。"
        "引き継ぐと、{team}の相談員がこれまでのやりとりを読んで、お返事します。",
        "引き継いでもよいですか。「いいえ」でも、いまの窓口のままご相談を続けられます。"])
    transfer_yes_label: str = Field("はい、引き継いでよい", min_length=1, max_length=20)
    transfer_no_label: str = Field("いいえ、いまの窓口で", min_length=1, max_length=20)
    transfer_done: Bubbles = Field(default_factory=lambda: [
        "ありがとうございます。「{team}」に引き継ぎました。{team}の相談員からお返事します。"])
    transfer_kept: Bubbles = Field(default_factory=lambda: [
        "わかりました。いまの窓口のまま、ご相談を続けます。"])
    transfer_over: Bubbles = Field(default_factory=lambda: [
        "このお願いへのお返事は、もう受け取っています。ほかに気になることがあれば、いつでも送ってください。"])
    # つなぐ (handoff/referrals.py): the resident's yes to one recipient and purpose, asked each
    # time; identity only after it. Defaults keep older releases valid.
    referral_ask: Bubbles = Field(default_factory=lambda: [
        "担当の相談員から、おたずねです。\n"
        "あなたのご相談のまとめ（つなぐシート）を、次のところにお渡ししてもよいですか。\n"
        "・お渡しする先：{recipient}\n・目的：{purpose}",
        "お渡しするのは、この目的に必要なことだけです。"
        "「渡さない」を選んでも、ここでのご相談はそのまま続けられます。"])
    referral_yes_label: str = Field("渡してよい", min_length=1, max_length=20)
    referral_no_label: str = Field("渡さない", min_length=1, max_length=20)
    referral_agreed: Bubbles = Field(default_factory=lambda: [
        "ありがとうございます。{recipient}に、ご相談のまとめをお渡しします。",
        "やめたくなったときは、いつでも「やっぱりやめる」を押すか、相談員に伝えてください。"])
    referral_withdraw_label: str = Field("やっぱりやめる", min_length=1, max_length=20)
    referral_declined: Bubbles = Field(default_factory=lambda: [
        "わかりました。{recipient}にはお渡ししません。ここでのご相談は、このまま続けられます。"])
    referral_withdrawn: Bubbles = Field(default_factory=lambda: [
        "わかりました。{recipient}へのお渡しを取り消しました。"
        "もうお渡ししていたときは、これ以上使わないよう、相談員から伝えます。"])
    referral_over: Bubbles = Field(default_factory=lambda: [
        "このおたずねへのお返事は、もう受け取っています。"
        "ほかに気になることがあれば、いつでも送ってください。"])
    identity_ask_name: str = Field(
        "{recipient}では、ご本人を確かめるために、お名前が必要です。\n"
        "お名前（フルネーム）を、このトークに送ってください。"
        "送りたくないときは「いまは送らない」を押してください。", min_length=1, max_length=300)
    identity_ask_phone: str = Field(
        "{recipient}から連絡するための電話番号を、このトークに送ってください。\n"
        "送りたくないときは「いまは送らない」を押してください。", min_length=1, max_length=300)
    identity_phone_again: str = Field(
        "電話番号として読み取れませんでした。数字で送ってください（例：090-1234-5678）。"
        "送りたくないときは「いまは送らない」を押してください。", min_length=1, max_length=300)
    identity_skip_label: str = Field("いまは送らない", min_length=1, max_length=20)
    identity_thanks: Bubbles = Field(default_factory=lambda: [
        "ありがとうございます。{recipient}にお渡しするときだけ使い、"
        "ご相談の記録を消すときに、いっしょに消します。"])
    identity_skipped: Bubbles = Field(default_factory=lambda: [
        "わかりました。送らなくても大丈夫です。どうすればよいか、相談員がいっしょに考えます。"])
    # The rich menu's words (drawn into its image too); the default keeps older releases valid.
    richmenu: RichMenuCopy = Field(default_factory=RichMenuCopy)

    # Waiting for a person (handoff/wait_copy.py): where the resident stands and how long it
    # may take, and the safety net when the desk is closed, nobody is on duty or the wait is
    # long. {ahead}: people before them; {low}, {high}: minutes.
    wait_place: str = Field("あなたの前に、{ahead}人の方がお待ちです。", min_length=1,
                            max_length=200)
    wait_next: str = Field("次に、あなたのご相談をお読みします。", min_length=1, max_length=200)
    wait_range: str = Field(
        "お返事まで、およそ{low}〜{high}分の見込みです。目安なので、急ぎのご相談が先になるなどして、"
        "前後することがあります。", min_length=1, max_length=300)
    wait_soon: str = Field(
        "お返事まで、長くてもおよそ{high}分の見込みです。目安なので、前後することがあります。",
        min_length=1, max_length=300)
    wait_keep_writing: str = Field(
        "待っているあいだも、伝えたいことがあれば、このトークに送ってください。相談員にそのまま届きます。",
        min_length=1, max_length=300)
    wait_update: str = Field("順番のお知らせです。", min_length=1, max_length=100)
    wait_claimed: str = Field(
        "担当の相談員が、あなたのご相談を読んでいます。お返事まで、もう少しお待ちください。",
        min_length=1, max_length=300)
    wait_nobody: str = Field(
        "いまは、お返事できる相談員がみな席を外しています。相談員が戻りしだい、順番にお返事します。",
        min_length=1, max_length=300)
    wait_long: str = Field(
        "お待たせしていて、ごめんなさい。いまは混み合っていて、お返事まで、およそ{low}〜{high}分"
        "かかりそうです。", min_length=1, max_length=300)
    net_needs: str = Field("今日・今夜のことで、いまできることをお伝えします。", min_length=1,
                           max_length=200)
    net_callback: str = Field(  # a buttons template's text: LINE takes 160 characters
        "お電話で話したいときは、相談員からの折り返しのお電話を頼めます。ご都合のよい時間帯を教えてください。",
        min_length=1, max_length=160)
    net_callback_label: str = Field("折り返しの電話を頼む", min_length=1, max_length=20)
    net_callback_asked: str = Field("折り返しのお電話のご希望は、相談員に伝わっています。",
                                    min_length=1, max_length=200)
    net_call: str = Field("急ぐときや、いま誰かと話したいときは、こちらに電話できます。",
                          min_length=1, max_length=160)
    net_self_help: str = Field("待つあいだに、ひとりで見られる情報です。", min_length=1,
                               max_length=200)
    net_keep_writing: str = Field("このトークには、いつでも書いてください。相談員が読みます。",
                                  min_length=1, max_length=300)

    @model_validator(mode="after")
    def _wait_placeholders(self) -> Messages:
        problems = []
        for name, allowed in WAIT_PLACEHOLDERS.items():
            value = getattr(self, name)
            try:
                used = {n for _, n, _, _ in Formatter().parse(value) if n is not None}
            except ValueError:
                problems.append(f"{name}: a lone '{{' or '}}'")
                continue
            problems += [f"{name}: unknown placeholder {{{n}}} (known: "
                         f"{', '.join(sorted(allowed)) or 'none'})" for n in sorted(used - allowed)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @field_validator("group_notice", "trouble", "risk_high", "risk_unsure",
                     "counsellor_joined", "case_closed", "returned_to_bot", "transfer_ask",
                     "transfer_done", "transfer_kept", "transfer_over", "language_chosen",
                     "referral_ask", "referral_agreed", "referral_declined",
                     "referral_withdrawn", "referral_over", "identity_thanks",
                     "identity_skipped")
    @classmethod
    def _bubbles(cls, value: Bubbles) -> Bubbles:
        # One reply carries at most 5 messages, and the buttons need a slot.
        return _bubbles(value, most=4)

    @field_validator("risk_imminent")
    @classmethod
    def _opening(cls, value: Bubbles) -> Bubbles:
        # The emergency state's numbers and its question follow in the same reply of 5.
        return _bubbles(value, most=MAX_OPENING)

    @field_validator("risk_imminent_by_danger", "risk_high_by_danger")
    @classmethod
    def _openings(cls, value: dict[str, Bubbles]) -> dict[str, Bubbles]:
        for bubbles in value.values():
            _bubbles(bubbles, most=MAX_OPENING)
        return value


WAIT_PLACEHOLDERS: dict[str, set[str]] = {
    "wait_place": {"ahead"}, "wait_next": set(), "wait_range": {"low", "high"},
    "wait_soon": {"high"}, "wait_keep_writing": set(), "wait_update": set(),
    "wait_claimed": set(), "wait_nobody": set(), "wait_long": {"low", "high"},
    "net_needs": set(), "net_callback": set(), "net_callback_label": set(),
    "net_callback_asked": set(), "net_call": set(), "net_self_help": set(),
    "net_keep_writing": set(),
}


def _bubbles(value: Bubbles, *, most: int) -> Bubbles:
    if not 1 <= len(value) <= most:
        raise ValueError(f"1 to {most} bubbles")
    for text in value:
        if not text.strip() or utf16_len(text) > MAX_TEXT_UTF16:
            raise ValueError(f"each bubble needs 1 to {MAX_TEXT_UTF16} characters")
    return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Hours(BaseModel):
    days: list[Weekday] = Field(min_length=1)
    open: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    close: str = Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if self.close <= self.open:
            raise ValueError("close must be after open")
        return self


class Closure(BaseModel):
    """Days the desk is closed beyond its weekly hours (年末年始, a training day), inclusive."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    note: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end < self.start:
            raise ValueError("'to' must not be before 'from'")
        return self


class Contact(Dialable):
    """A desk's own number for tonight (a city's night and holiday welfare line)."""


class AfterHours(BaseModel):
    """What a resident can do tonight when the desk is closed: the after-hours welfare contact,
    and a concrete answer for each urgent need (the intake's `urgent_needs` values: food,
    shelter, utilities)."""

    model_config = ConfigDict(extra="forbid")

    contacts: list[Contact] = Field(default_factory=list, max_length=3)
    needs: dict[str, str] = Field(default_factory=dict)

    @field_validator("needs")
    @classmethod
    def _texts(cls, value: dict[str, str]) -> dict[str, str]:
        for need, text in value.items():
            if not text.strip() or utf16_len(text) > 1000:
                raise ValueError(f"{need}: 1 to 1000 characters")
        return value


class Team(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=60)
    hours: Hours
    # Agencies a text may name as {share_with}. The shipped texts do not: the intake asks no
    # blanket sharing question, each referral names its own recipient (referrals.destinations).
    share_with: list[str] = Field(default_factory=list)
    # National holidays (祝日, from the calendar): closed unless the desk says it opens.
    open_on_holidays: bool = False
    closures: list[Closure] = Field(default_factory=list)
    after_hours: AfterHours = Field(default_factory=AfterHours)
    # least_loaded: the queue's top case is suggested to the available counsellor holding the
    # fewest chats (under their capacity); anyone may still take it. none: no suggestion.
    offer: Literal["none", "least_loaded"] = "none"


class Waiting(BaseModel):
    """How the bot tells a resident where they stand (handoff/waiting.py)."""

    model_config = ConfigDict(extra="forbid")

    # Minutes one counsellor takes for a case, before the day has pick-ups to learn from.
    minutes_per_case: float = Field(20, gt=0, le=480)
    pace_window_minutes: int = Field(120, ge=15, le=1440)  # the recent pick-ups that set the pace
    update_every_minutes: int = Field(30, ge=5, le=240)  # an update at most this often
    material_minutes: int = Field(10, ge=1, le=240)  # and only when the range moved this much
    # Longer than this (or nobody on duty): offer the safety net (call-back, numbers, help).
    overload_minutes: int = Field(60, ge=5, le=1440)
    away_after_minutes: int = Field(15, ge=1, le=240)  # 対応可能 with no console activity: 離席


class Sla(BaseModel):
    """Time to a person, by priority, while the desk is staffed (minutes)."""

    model_config = ConfigDict(extra="forbid")

    imminent: int = Field(5, ge=1, le=1440)  # Crisis Text Line: 94 % of high risk within 5
    high: int = Field(30, ge=1, le=1440)
    normal: int = Field(240, ge=1, le=10080)


class EmergencyRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acknowledgements: int = Field(2, ge=1, le=5)  # people who must see an imminent case
    escalate_after_minutes: int = Field(5, ge=1, le=120)  # then the on-call address is told


class Desk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waiting: Waiting = Field(default_factory=Waiting)
    sla: Sla = Field(default_factory=Sla)
    emergency: EmergencyRules = Field(default_factory=EmergencyRules)


class Area(BaseModel):
    """A part of the prefecture: when the towns do not fit in one quick reply, the resident
    chooses the area first, then the town in it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    name: str = Field(min_length=1, max_length=20)  # a quick-reply label


class Municipality(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    name: str = Field(min_length=1, max_length=20)  # a quick-reply label
    # Our team for it; none when its support is not on this account (the resident can still
    # name it: the case goes to `default_team`, and the reply names the town's own `office`).
    team: str | None = None
    area: str | None = None  # an `areas` id
    kana: str | None = Field(default=None, max_length=40)  # its reading, for typed names
    # Other names residents may type: a town's name before a merger (旧町名), a short form.
    aliases: list[str] = Field(default_factory=list, max_length=10)
    # The town's own office named first, before our team (e.g. あおば町役場 福祉係).
    first_contact: str | None = Field(default=None, min_length=1, max_length=60)
    office: str | None = Field(default=None, min_length=1, max_length=60)  # where not ours
    tel: str | None = Field(default=None, pattern=r"^[0-9][0-9-]{1,14}$")

    @model_validator(mode="after")
    def _served_or_named(self) -> Municipality:
        if self.team is None and self.office is None:
            raise ValueError(f"municipality {self.id}: give its `team`, or the `office` to name "
                             "when its support is not on this account")
        return self


class Routing(BaseModel):
    life_areas: dict[str, list[str]] = Field(default_factory=dict)
    urgent_needs: dict[str, list[str]] = Field(default_factory=dict)
    always: list[str] = Field(default_factory=list)


class Destination(BaseModel):
    """A service a counsellor may connect a resident to (つなぐ). The list is fixed per
    deployment: the outcome figures count referrals by it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=32)
    name: str = Field(min_length=1, max_length=60)  # named to the resident when asked
    # What it is for, in the resident's words: one is chosen and named when asking consent.
    purposes: list[str] = Field(min_length=1, max_length=8)
    # What the recipient cannot work without (asked only after the yes, and only then).
    needs: list[Literal["name", "phone"]] = Field(default_factory=list)
    # The team's own office for it, where it has one (e.g. みどり市 福祉課): named instead.
    local_names: dict[str, str] = Field(default_factory=dict)
    welfare: bool = False  # 生活保護: counted on its own

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, value: list[str]) -> list[str]:
        if any(not p.strip() or len(p) > 60 for p in value):
            raise ValueError("a purpose is 1 to 60 characters")
        return value


class Source(BaseModel):
    """How a resident came to the account (相談経路): self, or a department that gave them
    its link or QR code. The link carries the code, never who."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=32)
    name: str = Field(min_length=1, max_length=40)


class Referrals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destinations: list[Destination] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    # What support achieved, ticked at monitoring or closing (id -> words for the console).
    results: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> Referrals:
        for kind, ids in (("destination", [d.id for d in self.destinations]),
                          ("source", [s.id for s in self.sources])):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(f"{kind} ids twice: {', '.join(twice)}")
        return self

    def destination(self, destination_id: str) -> Destination | None:
        return next((d for d in self.destinations if d.id == destination_id), None)


class Places(BaseModel):
    retention_days: int = Field(ge=1, le=3650)
    # Months between two looks at a support plan with the resident (モニタリング), unless the
    # counsellor chooses otherwise for one plan: at least every 3 months is the practice.
    monitoring_months: int = Field(3, ge=1, le=12)
    teams: list[Team] = Field(min_length=1)
    # Any number: those our teams serve are offered as quick replies, by `areas` when they do
    # not fit in one; every one can be typed (bot/flows/places_match.py).
    municipalities: list[Municipality] = Field(min_length=1)
    areas: list[Area] = Field(default_factory=list)
    default_team: str
    programmes: dict[str, str]
    routing: Routing
    desk: Desk = Field(default_factory=Desk)
    referrals: Referrals = Field(default_factory=Referrals)

    @model_validator(mode="after")
    def _references(self) -> Places:
        teams = {t.id for t in self.teams}
        problems = [f"referrals {d.id}: unknown team {t}"
                    for d in self.referrals.destinations for t in d.local_names if t not in teams]
        problems += [f"municipality {m.id}: unknown team {m.team}"
                     for m in self.municipalities if m.team is not None and m.team not in teams]
        areas = {a.id for a in self.areas}
        problems += [f"municipality {m.id}: unknown area {m.area}"
                     for m in self.municipalities if m.area is not None and m.area not in areas]
        if self.areas:
            problems += [f"municipality {m.id}: give its area (every town is in one when "
                         "areas are listed)" for m in self.municipalities if m.area is None]
            used = {m.area for m in self.municipalities if m.team is not None}
            problems += [f"area {a.id}: no municipality of ours in it" for a in self.areas
                         if a.id not in used]
        for kind, keys in (("municipality ids", [m.id for m in self.municipalities]),
                           ("municipality names", [m.name for m in self.municipalities]),
                           ("area ids", [a.id for a in self.areas]),
                           ("area names", [a.name for a in self.areas])):
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                problems.append(f"{kind} twice: {', '.join(twice)}")
        if self.default_team not in teams:
            problems.append(f"default_team: unknown team {self.default_team}")
        mapping = [*self.routing.life_areas.items(), *self.routing.urgent_needs.items(),
                   ("always", self.routing.always)]
        problems += [f"routing {key}: unknown programme {p}"
                     for key, ids in mapping for p in ids if p not in self.programmes]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)


class SelfHelp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, pattern=r"^https://", max_length=1000)


class Resources(BaseModel):
    """Emergency numbers, and which come first for each danger (checked against the lexicon by
    `bot.flows.validate.check_contacts`)."""

    model_config = ConfigDict(extra="forbid")

    # One Flex bubble shows them all: LINE takes at most 30 KB a bubble, and 15 numbers with
    # every field at its longest stay below that even as the SDK sends it (escaped to ASCII).
    hotlines: list[Hotline] = Field(min_length=1, max_length=MAX_HOTLINES)
    dangers: list[Danger] = Field(default_factory=list)  # most urgent first
    # Help a resident can use alone while waiting or out of hours (a page, a leaflet).
    self_help: list[SelfHelp] = Field(default_factory=list, max_length=5)

    def general(self) -> list[Hotline]:
        return [h for h in self.hotlines if h.general]


class QuietHours(BaseModel):
    start: time
    end: time


class Rule(BaseModel):
    after_hours: float = Field(gt=0)
    text: str = Field(min_length=1, max_length=5000)


class FollowUpRules(BaseModel):
    timezone: str = "Asia/Tokyo"
    quiet_hours: QuietHours
    rules: dict[str, Rule]

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# The counsellor's display name, the case's team and its hours (in the reply's language), and
# the case's pseudonym.
REPLY_PLACEHOLDERS = {"name", "team", "hours", "pseudonym"}
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(_[a-z]{2,8})?$")  # ja, ja_easy, en, zh_hans


class CannedReply(BaseModel):
    """A reply a counsellor can put into their answer and then adapt (never sent as it is),
    in the languages residents read: `ja` (standard Japanese) always, `ja_easy` and the
    codes of content/languages/ where written."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    title: str = Field(min_length=1, max_length=40)  # for the counsellor, in Japanese
    texts: dict[str, str] = Field(min_length=1)
    # Only these teams' counsellors are offered it (places.yaml team ids); none: every team.
    teams: list[str] = Field(default_factory=list)

    @field_validator("texts")
    @classmethod
    def _variants(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        if "ja" not in value:
            problems.append("the standard Japanese variant (ja) is required")
        for code, text in value.items():
            if not _LANGUAGE_CODE.match(code):
                problems.append(f"'{code}' is not a language code (ja, ja_easy, en, zh_hans...)")
            if not text.strip() or utf16_len(text) > MAX_TEXT_UTF16:
                problems.append(f"{code}: 1 to {MAX_TEXT_UTF16} characters")
            try:
                used = {n for _, n, _, _ in Formatter().parse(text) if n is not None}
            except ValueError:
                problems.append(f"{code}: a lone '{{' or '}}'")
                continue
            problems += [f"{code}: unknown placeholder {{{n}}} (known: "
                         f"{', '.join(sorted(REPLY_PLACEHOLDERS))})"
                         for n in sorted(used - REPLY_PLACEHOLDERS)]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def text_for(self, code: str | None) -> tuple[str, str]:
        """(the variant's language, its text) for a resident reading `code` (None: standard
        Japanese): their language, else やさしい日本語, else standard Japanese."""
        for candidate in (code or "ja", "ja_easy", "ja"):
            if candidate in self.texts:
                return candidate, self.texts[candidate]
        return "ja", self.texts["ja"]  # unreachable: `ja` is required


class CannedReplies(BaseModel):
    """content/replies.yaml: the counsellors' canned replies (optional: none without it)."""

    model_config = ConfigDict(extra="forbid")

    replies: list[CannedReply] = Field(default_factory=list, max_length=20)

    @field_validator("replies")
    @classmethod
    def _unique(cls, value: list[CannedReply]) -> list[CannedReply]:
        seen: set[str] = set()
        twice = sorted({r.id for r in value if r.id in seen or seen.add(r.id)})  # type: ignore[func-returns-value]
        if twice:
            raise ValueError(f"reply ids used twice: {', '.join(twice)}")
        return value
