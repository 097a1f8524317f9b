"""Tokenising from several threads at once gives every thread its own, correct words.

The worker assesses residents in parallel threads; a tagger shared between threads let one
parse overwrite another's words (seen: about 1 in 400 parses wrong), which would hide risk."""

from __future__ import annotations

import threading

from bot.nlp.tokens import tokenize

TEXTS = ["もう死にたい", "いなくなりたい", "家賃が払えなくて困っています", "仕事をなくしました",
         "夫に殴られている", "どうしたらいいかわからない"]


def test_parallel_threads_get_the_same_tokens_as_one_thread() -> None:
    expected = {t: tokenize(t) for t in TEXTS}
    wrong: list[str] = []

    def work() -> None:
        for _ in range(300):
            for t in TEXTS:
                if tokenize(t) != expected[t]:
                    wrong.append(t)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
