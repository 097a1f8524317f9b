// やさしい日本語 advice as the counsellor types, for a resident who reads Japanese as a second
// language. The same checks as handoff/easy_japanese.py, from its rules (limits, patterns,
// words to avoid, wording) rendered into #easy-rules: one definition. Advice only: sending is
// never blocked.
"use strict";
(function () {
  const source = document.getElementById("easy-rules");
  const advice = document.getElementById("easy-advice");
  const form = advice && advice.closest("form");
  const words = form && form.querySelector("textarea[name=words]");
  if (!source || !advice || !words) return;
  const rules = JSON.parse(source.textContent);
  const p = rules.patterns;
  const SENTENCE = new RegExp(p.sentence, "gu");
  const ENDS = new RegExp(p.ends, "u");
  const SPACE = new RegExp(p.space, "gu");
  const KANJI = new RegExp(p.kanji, "gu");
  const KANA = new RegExp(p.kana, "u");
  const intro = advice.innerHTML;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  function said(kind, sentence, values) {
    const [problem, suggestion] = rules.words[kind];
    return { kind, sentence, problem: fill(problem, values), suggestion: fill(suggestion, values) };
  }

  // handoff/easy_japanese.py check(), step for step.
  function check(text) {
    const found = [];
    for (const match of text.matchAll(SENTENCE)) {
      const sentence = match[0].trim();
      if (!sentence || !KANA.test(sentence)) continue;
      const body = sentence.replace(SPACE, "").replace(ENDS, "");
      const length = Array.from(body).length;
      if (length > rules.max_length) {
        found.push(said("long", sentence, { length, most: rules.max_length }));
      }
      const kanji = (body.match(KANJI) || []).length;
      if (length >= rules.min_length_for_kanji && kanji * 100 > rules.max_kanji_percent * length) {
        const percent = Math.floor((kanji * 200 + length) / (2 * length));
        found.push(said("kanji", sentence, { percent }));
      }
      for (const avoid of rules.avoid) {
        if (avoid.forms.some((form) => body.includes(form))) {
          found.push(said("word", sentence, { word: avoid.word, easier: avoid.easier }));
        }
      }
    }
    return found;
  }

  function show() {
    const text = words.value;
    if (!text.trim()) {
      advice.innerHTML = intro;
      return;
    }
    const found = check(text);
    advice.replaceChildren();
    if (!found.length) {
      const ok = document.createElement("p");
      ok.className = "hint easy-ok";
      ok.textContent = KANA.test(text)
        ? "長すぎる文、漢字の多い文、むずかしいことばは見つかりませんでした。"
        : "日本語の文はありません（ほかのことばの文は調べません）。";
      advice.append(ok);
      return;
    }
    // One item a sentence: the sentence (its start), then what to change in it.
    const list = document.createElement("ul");
    const bySentence = new Map();
    for (const one of found) {
      if (!bySentence.has(one.sentence)) bySentence.set(one.sentence, []);
      bySentence.get(one.sentence).push(one);
    }
    for (const [sentence, all] of bySentence) {
      const item = document.createElement("li");
      const quote = document.createElement("q");
      const chars = Array.from(sentence);
      quote.textContent = chars.length > 30 ? chars.slice(0, 30).join("") + "…" : sentence;
      const points = document.createElement("ul");
      for (const one of all) {
        const point = document.createElement("li");
        point.className = "easy-" + one.kind;
        point.textContent = one.problem + one.suggestion;
        points.append(point);
      }
      item.append(quote, points);
      list.append(item);
    }
    advice.append(list);
  }

  let timer = null;
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(show, 300);
  }
  words.addEventListener("input", soon);
  words.addEventListener("tsunagu:inserted", soon);
  if (words.value) show();
})();
