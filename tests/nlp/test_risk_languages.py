"""Risk in the other languages residents write: English, Vietnamese, Chinese (simplified),
Portuguese (Brazil), Tagalog, Indonesian and Nepali, through the shipped analyser.

The messages here were written fresh, as another writer would, and are not the rules' own
examples (a test below checks that), so they measure a little how the rules generalise. Danger
must be carried by the rules themselves, not only by the statistical model, which has learnt
from Japanese, English and romaji alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.content import SHIPPED_CONTENT_DIR
from bot.nlp import Level, analyze, load_lexicon
from bot.nlp.prepare import script_of
from tests.nlp.helpers import rules_alone

IMMINENT: dict[str, list[str]] = {
    "en": ["my boyfriend is choking me please help",
           "I already swallowed every sleeping pill I had",
           "he's got a knife and he's coming at us",
           "my husband is beating our daughter right now",
           "im standing at the edge of the platform now"],
    "vi": ["Em vừa nuốt nguyên vỉ thuốc an thần rồi",
           "Tối nay tôi sẽ tự tử, xin lỗi mọi người",
           "anh ta đang cầm dao đòi chém em, cứu em với",
           "bé nhà em đang bị bố nó đánh chảy máu",
           "em đang đứng trên cầu Rainbow, không muốn về nữa"],
    "zh_hans": ["我刚吃了一整瓶安眠药", "他现在正在打我，救命", "我已经站在桥上了",
                "孩子正在被他爸爸打，我该怎么办", "绳子已经挂好了"],
    "pt_br": ["Tomei a caixa inteira de calmantes, desculpa",
              "meu marido tá me enforcando, socorro",
              "decidi que hoje à noite vou me matar",
              "to aqui em cima do viaduto, não aguento mais",
              "ele está espancando a minha filha agora"],
    "tl": ["Ininom ko na lahat ng sleeping pills ko",
           "Papatayin daw niya kaming mag-ina ngayong gabi",
           "Magpapakamatay na ako ngayong gabi, paalam",
           "duguan ang anak ko, sinuntok siya ng tatay niya"],
    "id": ["aku barusan nelen satu strip obat tidur",
           "Tolong, suami saya lagi mencekik saya",
           "Saya sudah berdiri di pinggir jembatan",
           "anak saya lagi dipukuli suami, tolong",
           "tali sudah kuikat di kamar"],
    "ne": ["मैले निद्राको सबै चक्की खाइसकें", "श्रीमानले मलाई कुटिरहेको छ, गुहार",
           "अब सहन सक्दिन, आजै आत्महत्या गर्छु", "छोरीलाई अहिले कुटिरहेको छ, के गर्ने",
           "म अहिले पुलमा उभिएको छु"],
}

HIGH: dict[str, list[str]] = {
    "en": ["honestly I just wish I was dead",
           "we have been sleeping in the car for a week",
           "the gas company disconnected our gas and it's freezing",
           "I keep cutting myself when it gets bad",
           "we've been evicted this morning and have nowhere to go"],
    "vi": ["Nhiều khi em chỉ muốn chết cho xong",
           "hai ngày nay mẹ con em chưa được ăn gì",
           "chủ nhà đuổi em ra khỏi phòng, tối nay không biết ngủ ở đâu",
           "dạo này em hay rạch tay lắm",
           "nhà em bị cắt nước một tuần rồi"],
    "zh_hans": ["我真的不想活了", "老公经常打我，我好害怕", "已经三天没吃饭了", "我经常割腕",
                "今晚只能睡在车站了"],
    "pt_br": ["Não aguento mais viver assim",
              "cortaram nossa luz porque atrasei a conta",
              "meu marido me agride quando bebe",
              "estou dormindo na rua faz uma semana"],
    "tl": ["Ayoko nang mabuhay, pagod na pagod na ako",
           "binubugbog ako ng live-in partner ko tuwing lasing siya",
           "Tatlong araw na kaming hindi kumakain ng mga anak ko",
           "naglalaslas ako kapag sobrang lungkot"],
    "id": ["Rasanya aku pengen mati aja, capek banget",
           "suami saya sering menampar saya kalau mabuk",
           "Sudah dua hari kami tidak makan sama sekali",
           "aku sering nyilet tangan kalau sedih",
           "listrik di kos sudah diputus karena nunggak"],
    "ne": ["अब त बाँच्ने इच्छा नै छैन", "लोग्नेले मलाई दिनहुँ कुट्छ",
           "तीन दिनदेखि हामीले केही खाएको छैन", "म बारम्बार नसा काट्छु",
           "घरबेटीले हामीलाई कोठाबाट निकाल्यो"],
}

# Asking about rent, a job, money or papers, and thanks; and near misses: idioms, job loss,
# arrears, an outage for everyone, a warning that is not yet a cut.
EVERYDAY: dict[str, list[str]] = {
    "en": ["How do I apply for the housing allowance?",
           "Is there any part-time work for someone with a student visa?",
           "Can I get an emergency loan to cover this month?",
           "Thanks so much for your help today",
           "this job is killing me lol",
           "there might be a power cut tomorrow"],
    "vi": ["Cho em hỏi thủ tục xin trợ cấp tiền nhà như thế nào ạ?",
           "Em đang tìm việc làm thêm ở Nagoya",
           "Tiền lương tháng này bị chậm, em muốn hỏi về khoản vay khẩn cấp",
           "Cảm ơn chị đã giúp em nhiều",
           "mệt muốn chết mà vẫn phải đi làm",
           "Tôi bị đuổi việc tuần trước, giờ không biết làm sao",
           "Hôm nay mất điện cả khu"],
    "zh_hans": ["请问怎么申请房租补助？", "我想找一份兼职工作", "可以申请生活费借款吗？",
                "谢谢你们的帮忙", "笑死我了", "想死你们了", "跳楼价清仓", "下个月可能会停电"],
    "pt_br": ["Como faço para pedir ajuda com o aluguel?",
              "Estou procurando emprego na fábrica de Hamamatsu",
              "Queria saber se posso pedir um empréstimo emergencial",
              "Muito obrigada pela atenção",
              "morri de rir com esse vídeo",
              "minha mãe vai me matar se souber",
              "vão cortar a luz se eu não pagar"],
    "tl": ["Paano po mag-apply ng tulong sa upa?",
           "Naghahanap po ako ng trabaho sa pabrika",
           "Pwede po bang humiram ng pera para sa emergency?",
           "Maraming salamat po sa tulong ninyo",
           "patay na ang baterya ng phone ko",
           "ang init, mamamatay na ako sa init"],
    "id": ["Bagaimana cara mengajukan bantuan sewa rumah?",
           "Saya sedang cari kerja paruh waktu di Tokyo",
           "Apakah ada pinjaman darurat untuk biaya hidup?",
           "Terima kasih banyak atas bantuannya",
           "mati lampu lagi nih",
           "listrik bakal diputus kalau tidak bayar"],
    "ne": ["घर भाडा सहयोगको लागि कसरी आवेदन दिने?", "म पार्ट टाइम काम खोज्दै छु",
           "के आपतकालीन ऋण पाउन सकिन्छ?", "तपाईंहरूलाई धेरै धन्यवाद", "हाँसेर मरियो",
           "मलाई कामबाट निकालियो, अब के गर्ने?", "आज बेलुका बत्ती गयो"],
}

LANGUAGES = {"en", "vi", "zh_hans", "pt_br", "tl", "id", "ne"}


def cases(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(lang, text) for lang, texts in table.items() for text in texts]


def rule_examples() -> Iterator[str]:
    for category in load_lexicon(SHIPPED_CONTENT_DIR / "risk").categories:
        for rule in category.rules:
            yield from rule.examples.positive
            yield from rule.examples.negative


def test_every_language_has_danger_and_everyday_messages() -> None:
    for table, least in ((IMMINENT, 2), (HIGH, 2), (EVERYDAY, 3)):
        assert set(table) == LANGUAGES
        assert all(len(texts) >= least for texts in table.values())


def test_the_messages_are_not_the_rules_own_examples() -> None:
    examples = {text.strip().casefold() for text in rule_examples()}
    written = [text for table in (IMMINENT, HIGH, EVERYDAY) for _, text in cases(table)]
    assert not [text for text in written if text.strip().casefold() in examples]


@pytest.mark.parametrize(("lang", "text"), cases(IMMINENT))
def test_danger_now_is_imminent(lang: str, text: str) -> None:
    result = analyze(text)
    assert result.level == Level.IMMINENT, result.explain()
    assert rules_alone().analyze(text).level == Level.IMMINENT, result.explain()


@pytest.mark.parametrize(("lang", "text"), cases(HIGH))
def test_serious_danger_is_at_least_high(lang: str, text: str) -> None:
    result = analyze(text)
    assert result.level >= Level.HIGH, result.explain()
    assert rules_alone().analyze(text).level >= Level.HIGH, result.explain()


@pytest.mark.parametrize(("lang", "text"), cases(EVERYDAY))
def test_everyday_messages_stay_below_high(lang: str, text: str) -> None:
    result = analyze(text)
    assert result.level < Level.HIGH, result.explain()


# Short messages whose every word is a Japanese syllable (saya, mau, mati, ponte, jembatan)
# are read as romaji, and also as they were written: the rules of their own language see them.
@pytest.mark.parametrize(("text", "level"), [
    ("aku mau mati", Level.HIGH),
    ("saya ingin bunuh diri", Level.HIGH),
    ("em muon tu tu", Level.HIGH),
    ("em se tu tu roi", Level.IMMINENT),
    ("papatayin nya kami", Level.IMMINENT),
    ("to na ponte agora", Level.IMMINENT),
    ("Meu namorado me bate quase todo dia", Level.HIGH),
    ("vou dormir na rua hoje", Level.HIGH),
    ("nandito ako sa tulay ngayon, hindi ko na kaya", Level.IMMINENT),
    ("pinalayas na kami sa inuupahan namin kahapon", Level.HIGH),
    ("aku di jembatan", Level.IMMINENT),
    ("kami tidak punya makanan", Level.HIGH),
    ("bi duoi ra khoi nha roi", Level.HIGH),
])
def test_messages_read_as_romaji_still_meet_the_rules_of_their_language(
        text: str, level: Level) -> None:
    assert script_of(text) == "romaji"
    assert rules_alone().analyze(text).level >= level


# ...while a Japanese message typed in romaji keeps its Japanese reading, and everyday romaji
# is not raised by reading its letters as another language.
@pytest.mark.parametrize(("text", "level"), [
    ("shinitai", Level.HIGH),
    ("mou shinitai", Level.HIGH),
])
def test_japanese_romaji_keeps_its_kana_reading(text: str, level: Level) -> None:
    assert script_of(text) == "romaji"
    assert rules_alone().analyze(text).level >= level


@pytest.mark.parametrize("text", ["konnichiwa", "arigatou gozaimasu", "ashita mo shigoto desu",
                                  "yachin no koto de soudan shitai", "onaka suita"])
def test_everyday_romaji_stays_below_imminent(text: str) -> None:
    assert analyze(text).level < Level.IMMINENT, analyze(text).explain()
