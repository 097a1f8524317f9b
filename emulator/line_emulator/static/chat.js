// The resident's LINE app, in miniature. Talks only to the emulator backend (same folder):
//   POST api/users/{id}/events  the resident did something (the backend signs it for the bot)
//   GET  api/users/{id}/stream  SSE: chat entries (history first), loading indicators, read
//                               marks and "your rich menu changed" (default, link or unlink)
//   GET  api/richmenu?user={id} the rich menu this user sees: the one linked to them, else the
//                               default (its image at api/richmenu/{menuId}/image)
"use strict";

const STORAGE_KEY = "tsunagu.emulator.userId";
const $ = (id) => document.getElementById(id);
const els = {
  log: $("log"), quick: $("quick"), composer: $("composer"), text: $("text"),
  send: $("send"), sticker: $("send-sticker"), image: $("send-image"),
  follow: $("toggle-follow"), reset: $("reset"), banner: $("blocked-banner"), userId: $("user-id"),
  menu: $("richmenu"), menuPanel: $("richmenu-panel"), menuImage: $("richmenu-image"),
  menuAreas: $("richmenu-areas"), chatBar: $("chatbar"),
};
const BOT_NAME = document.querySelector(".partner").textContent.trim();

let userId = "";
let stream = null;
let lastSeq = 0;
let epoch = "";
let lastSender = "";
let blocked = false;
let typingTimer = 0;
// "auto": LINE marks what the resident sends read itself (the account's chat is off).
// "manual": only the bot's mark-as-read call does, up to the message whose token it used.
let readMode = "auto";
let readUpTo = 0;

// ------------------------------------------------------------------ identity and connection

function newUserId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "U" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function api(path) {
  return `api/users/${userId}/${path}`;
}

// An administrator's preview opens the page as the user bound to their draft (?user=...).
const pinnedUser = new URLSearchParams(location.search).get("user");

async function start(fresh) {
  if (stream) stream.close();
  const pinned = !fresh && /^U[0-9a-f]{32}$/.test(pinnedUser || "");
  let id = pinned ? pinnedUser : localStorage.getItem(STORAGE_KEY);
  const firstVisit = fresh || !/^U[0-9a-f]{32}$/.test(id || "");
  if (pinned) {
    // The preview's own user; the resident identity kept in this browser stays untouched.
  } else if (firstVisit) {
    id = newUserId();
    localStorage.setItem(STORAGE_KEY, id);
  }
  userId = id;
  lastSeq = 0;
  lastSender = "";
  els.log.querySelectorAll(".row, .notice").forEach((n) => n.remove());
  els.userId.textContent = `ID: ${userId.slice(0, 9)}…`;
  setQuickReplies([]);

  const state = await fetch(api("messages")).then((r) => r.json()).catch(() => ({}));
  setBlocked(Boolean(state.blocked));
  stream = new EventSource(api("stream"));
  stream.addEventListener("hello", (e) => {
    // A restarted emulator numbers its entries from 1 again.
    const hello = JSON.parse(e.data);
    if (epoch && hello.epoch !== epoch) lastSeq = 0;
    epoch = hello.epoch;
    readMode = hello.markAsReadMode || "auto";
    readUpTo = hello.readUpTo || 0;
  });
  stream.addEventListener("entry", (e) => onEntry(JSON.parse(e.data)));
  stream.addEventListener("loading", (e) => showTyping(JSON.parse(e.data).seconds));
  stream.addEventListener("read", (e) => markReadUpTo(JSON.parse(e.data).upTo));
  stream.addEventListener("richmenu", () => loadRichMenu());
  loadRichMenu();
  // As in LINE, adding the account as a friend is what starts the conversation.
  const unopened = pinned && !(state.entries || []).length;
  if (firstVisit || unopened) await sendEvent({ type: "follow" });
}

async function sendEvent(payload) {
  if (payload.type !== "follow" && payload.type !== "unfollow") setQuickReplies([]);
  let status = 0;
  try {
    const r = await fetch(api("events"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    status = r.ok ? (await r.json()).status : r.status;
  } catch (_) {
    status = 0;
  }
  if (status === 200) {
    if (readMode === "auto") markRead(); // else the bot marks them read (markAsRead)
  } else if (status === 0) notice("ボットにつながりませんでした。サーバーが動いているか確かめてください。", true);
  else notice(`ボットに届きませんでした（HTTP ${status}）。少し待ってからもう一度お試しください。`, true);
  return status;
}

// ------------------------------------------------------------------ incoming entries

function onEntry(entry) {
  if (entry.seq <= lastSeq) return; // history is sent again after a reconnect
  lastSeq = entry.seq;
  const m = entry.message;
  if (entry.sender === "system") {
    const text = m.type === "unfollow" ? "ボットをブロックしました"
      : m.isUnblocked ? "ブロックを解除しました" : "友だち追加しました";
    notice(text);
    lastSender = "system";
    setQuickReplies([]);
    return;
  }
  if (entry.sender === "bot") {
    hideTyping();
    if (readMode === "auto") markRead();
    // LINE shows the quick replies of the latest message only.
    setQuickReplies((m.quickReply && m.quickReply.items) || []);
  } else {
    setQuickReplies([]);
  }
  addRow(entry.sender, renderMessage(m, entry.sender), entry.time, isWide(m), entry.seq);
}

function addRow(sender, content, time, wide, seq) {
  const row = el("div", `row ${sender}`);
  row.dataset.seq = String(seq);
  const continued = sender === "bot" && lastSender === "bot";
  lastSender = sender;
  if (sender === "bot") {
    if (continued) row.classList.add("continued");
    row.append(el("div", "avatar", "つ"));
  }
  const stack = el("div", wide ? "stack wide" : "stack");
  if (sender === "bot" && !continued) stack.append(el("div", "name", BOT_NAME));
  stack.append(content);
  const meta = el("div", "meta");
  if (sender === "resident") {
    meta.append(el("span", "read", readMode === "manual" && seq <= readUpTo ? "既読" : ""));
  }
  meta.append(el("span", "time", clock(time)));
  row.append(stack, meta);
  insert(row);
}

function renderMessage(m, sender) {
  switch (m.type) {
    case "text":
    case "textV2":
      return el("div", "bubble", linkify(m.text || ""));
    case "sticker":
      return el("div", "sticker", sender === "resident" ? "🐻" : "🙂");
    case "image":
      return el("div", "media", "🖼 画像");
    case "template":
      return renderTemplate(m.template || {}, m.altText);
    case "flex":
      return renderFlex(m);
    default:
      return el("div", "bubble", m.altText || `（${m.type} メッセージ）`);
  }
}

function isWide(m) {
  const t = m.template && m.template.type;
  return t === "carousel" || t === "image_carousel";
}

function renderTemplate(t, altText) {
  if (t.type === "carousel" || t.type === "image_carousel") {
    const row = el("div", "carousel");
    for (const col of t.columns || []) {
      const actions = col.actions || (col.action ? [col.action] : []);
      row.append(card(col.title, col.text, actions, false));
    }
    return row;
  }
  return card(t.title, t.text || altText, t.actions || [], t.type === "confirm");
}

function renderFlex(m) {
  const actions = [];
  (function walk(node) {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      if (node.type === "button" && node.action) actions.push(node.action);
      Object.values(node).forEach(walk);
    }
  })(m.contents);
  const c = card("", m.altText, actions, false);
  c.querySelector(".card-body").append(el("div", "card-alt", "（Flex メッセージ: 代替テキストを表示しています）"));
  return c;
}

function card(title, text, actions, confirm) {
  const c = el("div", "card");
  const body = el("div", "card-body");
  if (title) body.append(el("div", "card-title", title));
  if (text) body.append(linkify(text));
  c.append(body);
  if (actions.length) {
    const list = el("div", confirm ? "card-actions confirm" : "card-actions");
    actions.forEach((a) => list.append(actionControl(a, "card-action")));
    c.append(list);
  }
  return c;
}

// ------------------------------------------------------------------ actions (quick replies, buttons)

function actionControl(action, cls) {
  const label = action.label || action.displayText || action.text || action.uri || "…";
  if (action.type === "uri" && action.uri) {
    const a = el("a", cls, label);
    a.href = action.uri;
    if (/^https?:/.test(action.uri)) {
      a.target = "_blank";
      a.rel = "noopener";
    }
    return a;
  }
  const b = el("button", cls, label);
  b.type = "button";
  if (["postback", "message", "datetimepicker"].includes(action.type)) {
    b.addEventListener("click", () => tap(action));
  } else {
    b.disabled = true;
    b.title = "このボタンはエミュレーターでは使えません";
  }
  return b;
}

function tap(action) {
  if (blocked) return;
  if (action.type === "message") {
    sendEvent({ type: "text", text: action.text });
  } else {
    // LINE would show only displayText; showing the label keeps the demo readable.
    sendEvent({ type: "postback", data: action.data || "", displayText: action.displayText || action.label });
  }
}

function setQuickReplies(items) {
  els.quick.replaceChildren();
  for (const item of items) {
    if (item && item.action) els.quick.append(actionControl(item.action, "chip"));
  }
  els.quick.hidden = items.length === 0 || blocked;
}

// ------------------------------------------------------------------ typing, read marks, notices

function showTyping(seconds) {
  hideTyping();
  insert(document.getElementById("typing-template").content.firstElementChild.cloneNode(true));
  typingTimer = setTimeout(hideTyping, seconds * 1000);
}

function hideTyping() {
  clearTimeout(typingTimer);
  const t = document.getElementById("typing");
  if (t) t.remove();
}

function markRead() {
  els.log.querySelectorAll(".row.resident .read:empty").forEach((r) => { r.textContent = "既読"; });
}

function markReadUpTo(upTo) {
  // LINE marks the message of the token used and everything sent before it.
  readUpTo = Math.max(readUpTo, upTo || 0);
  els.log.querySelectorAll(".row.resident").forEach((row) => {
    const read = row.querySelector(".read");
    if (read && Number(row.dataset.seq) <= readUpTo) read.textContent = "既読";
  });
}

// ------------------------------------------------------------------ rich menu

let menuId = "";

async function loadRichMenu() {
  const forUser = userId;
  const url = `api/richmenu?user=${encodeURIComponent(forUser)}`;
  const found = await fetch(url).then((r) => r.json()).catch(() => ({}));
  // The resident was switched meanwhile: this is the old one's menu.
  if (forUser !== userId) return;
  const menu = found.richMenu;
  if (!menu) {
    menuId = "";
    els.menu.hidden = true;
    return;
  }
  if (menu.richMenuId === menuId) return;
  menuId = menu.richMenuId;
  els.menuImage.src = menu.image;
  els.menuImage.alt = menu.name || "";
  els.menuPanel.style.aspectRatio = `${menu.size.width} / ${menu.size.height}`;
  els.menuAreas.replaceChildren();
  for (const area of menu.areas || []) {
    const b = area.bounds;
    const a = area.action || {};
    const button = el("button", "richmenu-area");
    button.type = "button";
    button.setAttribute("aria-label", a.label || a.displayText || a.text || "");
    button.style.left = `${(100 * b.x) / menu.size.width}%`;
    button.style.top = `${(100 * b.y) / menu.size.height}%`;
    button.style.width = `${(100 * b.width) / menu.size.width}%`;
    button.style.height = `${(100 * b.height) / menu.size.height}%`;
    button.addEventListener("click", () => {
      if (a.type === "uri" && a.uri) window.open(a.uri, "_blank", "noopener");
      else tap(a);
    });
    els.menuAreas.append(button);
  }
  els.chatBar.textContent = `${menu.chatBarText} ▾`;
  setMenuOpen(Boolean(menu.selected));
  els.menu.hidden = false;
}

function setMenuOpen(open) {
  els.menuPanel.hidden = !open;
  els.chatBar.setAttribute("aria-expanded", String(open));
  els.chatBar.textContent = els.chatBar.textContent.replace(/[▾▴]$/, open ? "▾" : "▴");
}

els.chatBar.addEventListener("click", () => setMenuOpen(els.menuPanel.hidden));

function notice(text, isError) {
  insert(el("div", isError ? "notice error" : "notice", text));
}

function insert(node) {
  const typing = document.getElementById("typing");
  // The typing indicator stays last, under whatever arrives while it shows.
  if (typing && node !== typing) els.log.insertBefore(node, typing);
  else els.log.append(node);
  els.log.scrollTop = els.log.scrollHeight;
}

function setBlocked(value) {
  blocked = value;
  els.banner.hidden = !value;
  els.follow.textContent = value ? "友だち追加" : "ブロック";
  for (const c of [els.text, els.send, els.sticker, els.image]) c.disabled = value;
  if (value) els.quick.hidden = true;
}

// ------------------------------------------------------------------ small helpers

function el(tag, cls, content) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (typeof content === "string") n.textContent = content;
  else if (content) n.append(content);
  return n;
}

// Text nodes and <a> only: bot text is never parsed as HTML.
const LINKS = /(https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+|tel:[0-9+#*\-]+|\b0\d{1,4}-\d{1,4}-\d{3,4}\b|#\d{4}\b)/g;

function linkify(text) {
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const match of text.matchAll(LINKS)) {
    frag.append(text.slice(at, match.index));
    const found = match[0];
    const a = document.createElement("a");
    a.textContent = found;
    if (found.startsWith("http")) {
      a.href = found;
      a.target = "_blank";
      a.rel = "noopener";
    } else {
      a.href = found.startsWith("tel:") ? found : `tel:${found.replace(/-/g, "")}`;
    }
    frag.append(a);
    at = match.index + found.length;
  }
  frag.append(text.slice(at));
  return frag;
}

function clock(seconds) {
  const d = seconds ? new Date(seconds * 1000) : new Date();
  return `${d.getHours()}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// ------------------------------------------------------------------ composer and controls

function submitText() {
  const text = els.text.value;
  if (!text.trim() || blocked) return;
  els.text.value = "";
  autoGrow();
  sendEvent({ type: "text", text });
}

function autoGrow() {
  els.text.style.height = "auto";
  els.text.style.height = `${Math.min(els.text.scrollHeight, 120)}px`;
}

els.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  submitText();
});

els.text.addEventListener("input", autoGrow);
els.text.addEventListener("keydown", (e) => {
  // Enter confirms the IME's conversion while composing Japanese; only a bare Enter sends,
  // and only with a keyboard (on a phone Enter makes a new line, as in LINE).
  const composing = e.isComposing || e.keyCode === 229;
  if (e.key === "Enter" && !e.shiftKey && !composing && !matchMedia("(pointer: coarse)").matches) {
    e.preventDefault();
    submitText();
  }
});

els.sticker.addEventListener("click", () => sendEvent({ type: "sticker" }));
els.image.addEventListener("click", () => sendEvent({ type: "image" }));

els.follow.addEventListener("click", async () => {
  els.follow.disabled = true;
  const type = blocked ? "follow" : "unfollow";
  const status = await sendEvent({ type });
  // The resident's own choice holds even if the bot could not be reached.
  if (status !== 409) setBlocked(type === "unfollow");
  els.follow.disabled = false;
});

els.reset.addEventListener("click", () => {
  if (confirm("新しい相談者として始めますか？\nいまの会話はこの画面から消えます。")) start(true);
});

// A LINE link that opens this account's chat with a message typed in (LINE's oaMessage URL
// scheme, e.g. a department's referral link): the compose box holds it, the resident sends it.
const typedIn = new URLSearchParams(location.search).get("oaMessage");
start(false).then(() => {
  if (!typedIn) return;
  els.text.value = typedIn;
  autoGrow();
  els.text.focus();
  const rest = new URLSearchParams(location.search);
  rest.delete("oaMessage");
  history.replaceState(null, "", location.pathname + (rest.size ? `?${rest}` : ""));
});
