// branchbot sandbox: a Telegram look-alike in the browser, driven by the sandbox's JSON API
// (sandbox/WEB.md). Plain JavaScript, no build step, no network access beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);

const app = {
  state: null, // the last GET /api/state
  clock: null, // the sandbox clock; newer than state.clock once a `clock` event came
  personId: null, // whose chat is open
  chat: null, // the last GET /api/people/{id}/chat of that person
  messageNodes: new Map(), // message id -> {signature, node}: unchanged messages keep their node
  atBottom: true, // was the chat scrolled to its end (new messages then stay in view)
  drafts: new Map(), // person id -> unsent composer text, as Telegram keeps drafts per chat
  log: [],
  reading: false,
  sending: false,
  stateLoaded: false,
  reloadLog: true, // take the log from the next state (first load, after a reconnect)
};

// ---------------------------------------------------------------------------------------
// Small helpers

/** el("div", {class: "x", "data-testid": "y", onclick: f}, child, "text", [more]) */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  node.append(...children.flat().filter((c) => c != null));
  return node;
}

// Line icons drawn for this page (24×24, stroked), so no emoji font or icon font is needed.
const ICONS = {
  back: "M19 12H5M11 6l-6 6 6 6",
  attach: "M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.7-7.7",
  camera: "M4 8h3l2-3h6l2 3h3a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1zM12 10a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7z",
  send: "M4 20l17-8L4 4l2.5 8zM6.5 12H13",
  person: "M12 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM4 21c0-4 4-6 8-6s8 2 8 6",
  pin: "M12 21s-7-6.4-7-12a7 7 0 0 1 14 0c0 5.6-7 12-7 12zM12 6.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z",
  qr: "M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4zM14 14h2v2h-2zM18 18h2v2h-2zM14 18h2M18 14h2",
  file: "M6 3h8l5 5v13H6zM14 3v5h5",
  close: "M6 6l12 12M18 6L6 18",
};

function icon(name) {
  return svgEl("svg", { class: "icon-svg", viewBox: "0 0 24 24", "aria-hidden": "true" },
    svgEl("path", { d: ICONS[name] }));
}

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** GET (no body) or POST (body) a JSON API path; throws ApiError with the server's sentence. */
async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError("Cannot reach the sandbox server — is it still running? · 无法连接沙盒服务器", 0);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON: the status line below says enough
  }
  if (!response.ok) {
    const said = data && typeof data.error === "string" ? data.error : null;
    throw new ApiError(said || `The server answered ${response.status} to ${path}.`, response.status);
  }
  return data;
}

const personPath = (id, action) => `/api/people/${encodeURIComponent(id)}/${action}`;

/** Runs an action; a failure becomes an error toast instead of disappearing. */
async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    toast(error.message || String(error), "error");
    return undefined;
  }
}

/** A function that runs `job` at most once at a time, `delay` ms after the last call;
 * calls during a run make it run once more afterwards (a burst of events costs one fetch). */
function coalesced(job, delay = 0) {
  let timer = null;
  let running = false;
  let again = false;
  async function run() {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await job();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }
  function schedule() {
    if (timer === null) timer = setTimeout(run, delay);
  }
  return schedule;
}

const wide = () => window.matchMedia("(min-width: 700px)").matches;

// ---------------------------------------------------------------------------------------
// Toast, dialogs, alert

let toastTimer = null;

function toast(text, kind = "info") {
  const node = $("toast");
  node.textContent = text;
  node.className = `toast ${kind}`;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, Math.min(10000, 2500 + text.length * 60));
}

const openDialogs = [];

/** A modal layer with a box; returns {box, body, close}. Escape or a click beside it closes. */
function openDialog({ title, testid, className = "" }) {
  const previousFocus = document.activeElement;
  const body = el("div", { class: "dialog-body" });
  const box = el("div", {
    class: `dialog ${className}`, role: "dialog", "aria-modal": "true",
    "aria-label": title || null, "data-testid": testid,
  });
  const layer = el("div", { class: "overlay" }, box);
  const dialog = { box, body, close };
  function close() {
    layer.remove();
    openDialogs.splice(openDialogs.indexOf(dialog), 1);
    if (previousFocus && previousFocus.focus) previousFocus.focus();
  }
  if (title) {
    box.append(el("div", { class: "dialog-head" },
      el("h2", { text: title }),
      el("button", { type: "button", class: "icon", "aria-label": "Close", onclick: close }, icon("close"))));
  }
  box.append(body);
  layer.addEventListener("click", (event) => { if (event.target === layer) close(); });
  openDialogs.push(dialog);
  document.body.append(layer);
  return dialog;
}

function showAlert(text) {
  // One alert at a time, as on a phone: a newer one replaces the older.
  for (const dialog of openDialogs.filter((d) => d.box.dataset.testid === "alert")) dialog.close();
  const dialog = openDialog({ testid: "alert", className: "alert" });
  const ok = el("button", { type: "button", class: "primary", onclick: () => dialog.close() }, "OK");
  dialog.body.append(
    el("div", { class: "alert-from", text: app.state ? app.state.bot.name : "Bot" }),
    el("p", { class: "alert-text", text }),
    el("div", { class: "dialog-buttons" }, ok));
  ok.focus();
}

function showImage(url) {
  const dialog = openDialog({ testid: "lightbox", className: "lightbox" });
  dialog.body.append(el("img", { src: url, alt: "Photo · 图片", onclick: () => dialog.close() }));
}

// ---------------------------------------------------------------------------------------
// Time in the sandbox's zone (the clock's zone, not the browser's)

const formatters = new Map();

function zoneFormat(options) {
  const zone = app.clock ? app.clock.zone : "UTC";
  const key = zone + JSON.stringify(options);
  if (!formatters.has(key)) {
    try {
      formatters.set(key, new Intl.DateTimeFormat("en-CA", { ...options, timeZone: zone }));
    } catch {
      formatters.set(key, new Intl.DateTimeFormat("en-CA", { ...options, timeZone: "UTC" }));
    }
  }
  return formatters.get(key);
}

/** {day: "2026-12-01", time: "21:30"} of a unix time in the sandbox zone. */
function zoneParts(unix) {
  const format = zoneFormat({
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23",
  });
  const parts = {};
  for (const part of format.formatToParts(new Date(unix * 1000))) parts[part.type] = part.value;
  return { day: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

const today = () => (app.clock ? app.clock.local.slice(0, 10) : "");

function daysBetween(dayA, dayB) {
  return Math.round((Date.parse(`${dayB}T00:00:00Z`) - Date.parse(`${dayA}T00:00:00Z`)) / 86400000);
}

/** The people list's time: 21:30 today, a weekday within the week, else Dec 1. */
function listTime(unix) {
  if (!unix) return "";
  const { day, time } = zoneParts(unix);
  const age = daysBetween(day, today());
  if (age === 0) return time;
  if (age > 0 && age < 7) return zoneFormat({ weekday: "short" }).format(new Date(unix * 1000));
  return zoneFormat({ month: "short", day: "numeric" }).format(new Date(unix * 1000));
}

function dayLabel(day) {
  const age = daysBetween(day, today());
  if (age === 0) return "Today · 今天";
  if (age === 1) return "Yesterday · 昨天";
  const date = new Date(`${day}T12:00:00Z`);
  const options = { weekday: "long", month: "long", day: "numeric", timeZone: "UTC" };
  if (day.slice(0, 4) !== today().slice(0, 4)) options.year = "numeric";
  return new Intl.DateTimeFormat("en-GB", options).format(date);
}

// ---------------------------------------------------------------------------------------
// Avatars

// Telegram's seven avatar gradients; the colour follows the id, as it does there.
const AVATAR_COLOURS = [
  ["#ff885e", "#ff516a"], ["#ffcd6a", "#ffa85c"], ["#82b1ff", "#665fff"], ["#a0de7e", "#54cb68"],
  ["#53edd6", "#28c9b7"], ["#72d5fd", "#2a9ef1"], ["#e0a2f3", "#d669ed"],
];

function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  const first = [...words[0]][0];
  if (/\p{Script=Han}/u.test(first)) return first; // Chinese names: the family name's character
  const last = words.length > 1 ? [...words[words.length - 1]][0] : "";
  return (first + last).toUpperCase();
}

function avatar(name, id, extraClass = "") {
  const [top, bottom] = AVATAR_COLOURS[Math.abs(Number(id) || 0) % AVATAR_COLOURS.length];
  return el("span", {
    class: `avatar ${extraClass}`, "aria-hidden": "true",
    style: `background: linear-gradient(${top}, ${bottom})`,
  }, initials(name));
}

// ---------------------------------------------------------------------------------------
// State: clock, serving note, people list

const refreshState = coalesced(async () => {
  try {
    applyState(await api("/api/state"));
  } catch (error) {
    toast(error.message, "error");
    if (!app.stateLoaded) showLoadError(error.message);
  }
}, 100);

function applyState(state) {
  app.state = state;
  app.stateLoaded = true;
  renderClock(state.clock);
  renderServing(state);
  if (app.reloadLog) {
    app.reloadLog = false;
    setLog(state.log || []);
  }
  renderPeople();
  const person = currentPerson();
  if (person) renderChatHead(person);
  else if (app.personId != null) closeChat(); // the person is gone
  markReadIfSeen();
}

function currentPerson() {
  if (!app.state || app.personId == null) return null;
  return app.state.people.find((p) => p.id === app.personId) || null;
}

function showLoadError(message) {
  $("chat-empty").replaceChildren(el("div", { class: "intro error" },
    el("h1", { text: "The sandbox server did not answer · 沙盒服务器无响应" }),
    el("p", { text: message }),
    el("button", { type: "button", class: "primary", onclick: () => refreshState() }, "Try again · 重试")));
}

function renderClock(clock) {
  if (!clock) return;
  const zoneChanged = !app.clock || app.clock.zone !== clock.zone;
  app.clock = clock;
  if (zoneChanged) formatters.clear();
  $("clock").replaceChildren(
    el("span", { class: "clock-weekday", text: clock.weekday }), " ",
    el("span", { class: "clock-local", text: clock.local }), " ",
    el("span", { class: "clock-zone", text: clock.zone }));
  // The jump field follows the clock until someone edits it.
  const jump = $("clock-to");
  if (!jump.value || jump.dataset.auto === "yes") {
    jump.value = clock.local.replace(" ", "T");
    jump.dataset.auto = "yes";
  }
}

function renderServing(state) {
  const note = $("serving");
  note.hidden = !state.address;
  note.classList.toggle("exposed", !state.loopback_only);
  note.textContent = state.loopback_only
    ? `Serving on loopback only: ${state.address}`
    : `Serving on ${state.address} — reachable from other machines`;
  note.title = note.textContent; // the phone layout may cut it short
}

async function moveClock(body) {
  const clock = await attempt(() => api("/api/clock", body));
  if (clock) {
    renderClock(clock);
    renderPeople();
    if (app.chat) renderMessages(app.chat.messages); // "Today" may have moved
    toast(`Clock: ${clock.weekday} ${clock.local} · 时钟已调整`);
  }
}

function jumpClock() {
  const value = $("clock-to").value; // "2026-12-05T09:00" (seconds only if typed)
  if (!value) {
    toast("Choose a date and time to jump to first · 请先选择日期和时间", "error");
    return;
  }
  moveClock({ to: value.slice(0, 16).replace("T", " ") });
}

function renderPeople() {
  const list = $("people");
  if (!app.state) return;
  const old = new Map([...list.querySelectorAll("li[data-person-id]")].map((li) => [li.dataset.personId, li]));
  const items = app.state.people.map((person) => {
    const active = person.id === app.personId;
    const signature = JSON.stringify([person, active, listTime(person.last_date)]);
    let li = old.get(String(person.id));
    if (!li || li.dataset.signature !== signature) {
      li = el("li", {
        class: `person${active ? " active" : ""}`, "data-testid": "person", "data-person-id": person.id,
        "data-signature": signature,
      }, personButton(person, active));
    }
    return li;
  });
  if (!items.length) items.push(el("li", { class: "people-empty", text: "No people yet — add one above · 还没有人员" }));
  list.replaceChildren(...items);
  const unread = app.state.people.reduce((sum, p) => sum + (p.unread || 0), 0);
  document.title = unread ? `(${unread}) branchbot sandbox` : "branchbot sandbox";
}

function personButton(person, active) {
  return el("button", {
    type: "button", class: "person-button", "aria-current": active ? "true" : null,
    onclick: () => openPerson(person.id),
  },
  avatar(person.name, person.id),
  el("span", { class: "person-main" },
    el("span", { class: "person-top" },
      el("span", { class: "person-name", text: person.name }),
      el("span", { class: "person-time", text: listTime(person.last_date) })),
    person.about && el("span", { class: "person-about", text: person.about }),
    el("span", { class: "person-bottom" },
      el("span", { class: `person-last${person.last ? "" : " none"}`, text: person.last || "No messages yet · 暂无消息" }),
      person.unread > 0 && el("span", { class: "unread", "data-testid": "unread", text: person.unread }))));
}

// ---------------------------------------------------------------------------------------
// Adding a person

function toggleNewPersonForm(show) {
  const form = $("new-person");
  form.hidden = !show;
  setFormError("");
  if (show) $("new-person-name").focus();
}

function setFormError(text) {
  $("form-error").textContent = text;
  $("form-error").hidden = !text;
}

async function addPerson(event) {
  event.preventDefault();
  const name = $("new-person-name").value.trim();
  const language = $("new-person-language").value;
  setFormError("");
  let person;
  try {
    person = await api("/api/people", { name, language });
  } catch (error) {
    setFormError(error.message); // the server's sentence says what to change
    return;
  }
  $("new-person-name").value = "";
  toggleNewPersonForm(false);
  if (app.state && !app.state.people.some((p) => p.id === person.id)) app.state.people.push(person);
  refreshState();
  openPerson(person.id);
}

// ---------------------------------------------------------------------------------------
// Opening a chat

function openPerson(id) {
  if (app.personId !== id) {
    saveDraft();
    app.personId = id;
    app.chat = null;
    app.messageNodes.clear();
    $("messages-inner").replaceChildren();
    renderReplyKeyboard(null);
    setAtBottom(true);
    closePopups();
    $("composer").value = app.drafts.get(id) || "";
    autosizeComposer();
  }
  history.replaceState(null, "", `#person=${id}`);
  document.body.classList.add("chat-shown");
  $("chat-empty").hidden = true;
  $("chat-open").hidden = false;
  const person = currentPerson();
  if (person) renderChatHead(person);
  renderPeople();
  loadChat();
  if (wide()) $("composer").focus(); // not on phones: it would pop up the keyboard
}

function closeChat() {
  saveDraft();
  app.personId = null;
  app.chat = null;
  app.messageNodes.clear();
  history.replaceState(null, "", location.pathname);
  document.body.classList.remove("chat-shown");
  $("chat-open").hidden = true;
  $("chat-empty").hidden = false;
  renderPeople();
}

function saveDraft() {
  if (app.personId != null) app.drafts.set(app.personId, $("composer").value);
}

function renderChatHead(person) {
  $("chat-avatar").replaceWith(Object.assign(avatar(person.name, person.id), { id: "chat-avatar" }));
  $("chat-name").textContent = person.name;
  const bot = app.state ? `bot: @${app.state.bot.username}` : "bot";
  const language = { zh: "中文", en: "English" }[person.language] || person.language;
  $("chat-sub").textContent = [bot, language, person.about].filter(Boolean).join(" · ");
}

const loadChat = coalesced(async () => {
  const id = app.personId;
  if (id == null) return;
  let chat;
  try {
    chat = await api(personPath(id, "chat"));
  } catch (error) {
    if (id !== app.personId) return;
    toast(error.message, "error");
    if (error.status === 404) closeChat();
    return;
  }
  if (id !== app.personId) return; // someone opened another chat meanwhile
  renderChat(chat);
  markReadIfSeen();
}, 30);

function renderChat(chat) {
  const stayAtBottom = app.atBottom; // measured before anything changes height
  app.chat = chat;
  renderChatHead(chat.person);
  renderMessages(chat.messages);
  renderReplyKeyboard(chat.reply_keyboard);
  const placeholder = chat.reply_keyboard && chat.reply_keyboard.placeholder;
  $("composer").placeholder = placeholder || "Message · 消息";
  if (!$("commands-menu").hidden) renderCommandMenu();
  if (stayAtBottom) scrollToBottom();
}

function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
  setAtBottom(true);
}

/** Scrolled up, a ↓ button brings one back to the newest message, as in Telegram. */
function setAtBottom(atBottom) {
  app.atBottom = atBottom;
  $("to-bottom").hidden = atBottom;
}

/** Things that change height after rendering (images, the keyboard) keep the end in view. */
function keepBottom() {
  if (app.atBottom) scrollToBottom();
}

/** The bot is marked as read once its messages were shown in a focused window. */
async function markReadIfSeen() {
  const id = app.personId;
  if (id == null || !app.chat || app.chat.person.id !== id || app.reading) return;
  if (document.visibilityState !== "visible" || !document.hasFocus()) return;
  const listed = currentPerson();
  if (Math.max(app.chat.person.unread || 0, listed ? listed.unread : 0) === 0) return;
  app.reading = true;
  try {
    await api(personPath(id, "read"), {});
    app.chat.person.unread = 0;
    if (listed) listed.unread = 0;
    renderPeople();
  } catch (error) {
    toast(error.message, "error");
  } finally {
    app.reading = false;
  }
}

// ---------------------------------------------------------------------------------------
// Messages

function renderMessages(messages) {
  const nodes = [];
  const kept = new Map();
  let lastDay = null;
  messages.forEach((message, index) => {
    const day = zoneParts(message.date).day;
    if (day !== lastDay) {
      nodes.push(el("div", { class: "day-chip" }, el("span", { text: dayLabel(day) })));
      lastDay = day;
    }
    // The bubble's tail goes on the last of a run of messages from the same side.
    const next = messages[index + 1];
    const tail = !next || next.from_bot !== message.from_bot || zoneParts(next.date).day !== day;
    const signature = JSON.stringify(message) + tail;
    const old = app.messageNodes.get(message.id);
    const node = old && old.signature === signature ? old.node : messageNode(message, tail);
    kept.set(message.id, { signature, node });
    nodes.push(node);
  });
  app.messageNodes = kept;
  if (!messages.length) nodes.push(emptyChatHint());
  $("messages-inner").replaceChildren(...nodes);
}

function emptyChatHint() {
  const name = app.state ? app.state.bot.name : "the bot";
  return el("div", { class: "empty-chat" },
    el("p", { text: `No messages with ${name} yet. A new Telegram chat starts with /start.` }),
    el("p", { text: "还没有消息。新的对话从 /start 开始。" }),
    el("button", { type: "button", class: "primary", onclick: () => sendText("/start") }, "START · 开始"));
}

function messageNode(message, tail) {
  const side = message.from_bot ? "in" : "out";
  const mediaOnly = message.photo && !message.html;
  const bubble = el("div", { class: `bubble ${side}${tail ? " tail" : ""}${mediaOnly ? " media-only" : ""}` });
  if (message.photo) bubble.append(photoPart(message.photo));
  if (message.document) bubble.append(documentPart(message.document));
  if (message.location) bubble.append(locationPart(message.location));
  if (message.contact) bubble.append(contactPart(message.contact));
  const meta = metaPart(message);
  if (message.html) bubble.append(textPart(message.html, meta));
  bubble.append(meta);
  const node = el("div", {
    class: `message ${side}`, "data-testid": "message", "data-message-id": message.id,
    "data-from-bot": String(Boolean(message.from_bot)),
  }, bubble);
  if (message.buttons && message.buttons.length) node.append(inlineKeyboard(message));
  return node;
}

function metaPart(message) {
  return el("span", { class: "meta" },
    message.edited && el("span", { class: "edited", text: "edited " }),
    el("span", { class: "time", text: message.time }));
}

function textPart(html, meta) {
  const text = el("div", { class: "text" });
  text.innerHTML = html; // already escaped by the server (WEB.md); only the bot's formatting remains
  for (const link of text.querySelectorAll("a[href]")) {
    if (link.classList.contains("command")) {
      // A /command in a message sends it when pressed, as in Telegram.
      link.addEventListener("click", (event) => { event.preventDefault(); sendText(link.dataset.command); });
    } else if (/^https:\/\/t\.me\//.test(link.href)) {
      // A t.me link opens the bot in this chat (the server says so when it leads elsewhere).
      link.addEventListener("click", (event) => { event.preventDefault(); openLink(link.href); });
    } else {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
  }
  // Room at the end of the last line for the time, which floats there as in Telegram.
  text.append(el("span", { class: "meta-room", "data-meta": meta.textContent, "aria-hidden": "true" }));
  return text;
}

function fileIdOf(url) {
  const last = String(url).split(/[?#]/)[0].split("/").filter(Boolean).pop() || "";
  return decodeURIComponent(last);
}

function photoPart(photo) {
  const image = el("img", {
    class: "photo", src: photo.url, alt: "Photo · 图片",
    onclick: () => showImage(photo.url), onload: keepBottom,
  });
  image.addEventListener("error", () => image.replaceWith(
    el("div", { class: "photo-missing", text: "The picture could not be loaded · 图片无法加载" })));
  return el("div", { class: "photo-box" }, image,
    photo.qr && el("button", {
      type: "button", class: "scan-with", "data-testid": "scan-with", title: photo.qr,
      onclick: () => chooseScanner(fileIdOf(photo.url)),
    }, icon("qr"), "Scan with… · 用…扫码"));
}

function humanSize(bytes) {
  if (!(bytes >= 0)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function documentPart(doc) {
  const match = String(doc.name).match(/\.([A-Za-z0-9]{1,5})$/);
  const extension = match ? match[1] : "";
  return el("a", { class: "document", href: doc.url, download: doc.name || "", title: "Download · 下载" },
    el("span", { class: "doc-icon" }, extension ? extension.toLowerCase() : icon("file")),
    el("span", { class: "doc-info" },
      el("span", { class: "doc-name", text: doc.name }),
      el("span", { class: "doc-size", text: `${humanSize(doc.size)} · Download · 下载` })));
}

function distanceMetres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2
    + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 6371000 * 2 * Math.asin(Math.sqrt(h));
}

function locationPart(location) {
  const coords = `📍 ${Number(location.latitude).toFixed(5)}, ${Number(location.longitude).toFixed(5)}`;
  // Naming the nearest place on the map tells a reader more than the numbers do.
  const places = (app.state && app.state.map && app.state.map.places) || [];
  const near = places
    .map((place) => ({ place, metres: distanceMetres(location, place) }))
    .filter((p) => p.metres < 500)
    .sort((a, b) => a.metres - b.metres)[0];
  return el("div", { class: "location" },
    el("div", { class: "location-coords", text: coords }),
    near && el("div", { class: "location-near", text: `${Math.round(near.metres)} m from ${near.place.name}` }));
}

function contactPart(contact) {
  return el("div", { class: "contact" },
    avatar(contact.name, [...String(contact.name || "")].reduce((sum, ch) => sum + ch.codePointAt(0), 0), "small"),
    el("div", { class: "contact-info" },
      el("div", { class: "contact-name", text: contact.name }),
      el("div", { class: "contact-phone", text: contact.phone })));
}

function inlineKeyboard(message) {
  return el("div", { class: "inline-keyboard", "data-testid": "inline-keyboard" },
    message.buttons.map((row, r) => el("div", { class: "kb-row" },
      row.map((button, c) => el("button", {
        type: "button", class: `kb-button kind-${button.kind}`, title: button.url || null,
        onclick: (event) => pressInline(message.id, r, c, event.currentTarget),
      }, button.text)))));
}

async function pressInline(messageId, row, column, button) {
  button.classList.add("pending");
  await attempt(() => api(personPath(app.personId, "press"), { message_id: messageId, row, column }));
  button.classList.remove("pending");
}

// ---------------------------------------------------------------------------------------
// Reply keyboard, composer, command menu, attachments

function renderReplyKeyboard(keyboard) {
  const box = $("reply-keyboard");
  const signature = JSON.stringify(keyboard);
  if (box.dataset.signature === signature) return;
  box.dataset.signature = signature;
  if (!keyboard || !keyboard.rows || !keyboard.rows.length) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.replaceChildren(...keyboard.rows.map((row, r) => el("div", { class: "kb-row" },
    row.map((button, c) => el("button", {
      type: "button", class: `reply-button kind-${button.kind}`, onclick: () => tapReply(r, c, button),
    }, button.text)))));
  box.hidden = false;
}

function tapReply(row, column, button) {
  if (button.kind === "location") {
    openLocationPicker(button.text, (latitude, longitude) =>
      api(personPath(app.personId, "tap"), { row, column, latitude, longitude }));
    return;
  }
  app.atBottom = true;
  attempt(() => api(personPath(app.personId, "tap"), { row, column }));
}

function autosizeComposer() {
  const box = $("composer");
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
}

async function openLink(link) {
  if (app.personId == null) return;
  try {
    await api(personPath(app.personId, "open"), { link });
  } catch (error) {
    toast(error.message, "error");
  }
}

async function sendText(text) {
  const id = app.personId;
  if (id == null || !text || app.sending) return false;
  app.sending = true;
  app.atBottom = true; // one's own message should be seen
  try {
    await api(personPath(id, "send"), { text });
    return true;
  } catch (error) {
    toast(error.message, "error");
    return false;
  } finally {
    app.sending = false;
  }
}

async function sendComposer() {
  const box = $("composer");
  const text = box.value.trim();
  if (!text) return;
  if (await sendText(text)) {
    if (box.value.trim() === text) box.value = "";
    app.drafts.delete(app.personId);
    autosizeComposer();
  }
  if (wide()) box.focus();
}

function onComposerKey(event) {
  // Enter sends; Shift+Enter is a new line; Enter that confirms a Chinese IME word is not a send.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    sendComposer();
  }
}

function closePopups() {
  $("commands-menu").hidden = true;
  $("attach-menu").hidden = true;
}

function togglePopup(id) {
  const popup = $(id);
  const show = popup.hidden;
  closePopups();
  popup.hidden = !show;
  if (show && id === "commands-menu") renderCommandMenu();
}

function renderCommandMenu() {
  const commands = (app.chat && app.chat.commands) || [];
  const menu = $("commands-menu");
  if (!commands.length) {
    menu.replaceChildren(el("div", { class: "popup-empty", text: "The bot has no command menu here · 暂无命令" }));
    return;
  }
  menu.replaceChildren(...commands.map((c) => el("button", {
    type: "button", class: "command", "data-testid": "command",
    onclick: () => { closePopups(); sendText(`/${c.command}`); },
  }, el("span", { class: "command-name", text: `/${c.command}` }), " — ",
  el("span", { class: "command-description", text: c.description }))));
}

function shareContact() {
  closePopups();
  app.atBottom = true;
  attempt(() => api(personPath(app.personId, "contact"), {}));
}

function shareLocation() {
  closePopups();
  openLocationPicker("Share location · 分享位置", (latitude, longitude) =>
    api(personPath(app.personId, "location"), { latitude, longitude }));
}

// ---------------------------------------------------------------------------------------
// QR codes: the camera, and "scan with…" another person's phone

async function openCodes() {
  closePopups();
  const id = app.personId;
  const dialog = openDialog({ title: "Scan a QR code · 扫描二维码", testid: "codes", className: "codes" });
  const note = el("p", { class: "dialog-note", text: "Loading… · 加载中" });
  const error = el("p", { class: "form-error", role: "alert", hidden: true });
  dialog.body.append(note, error);
  let codes;
  try {
    codes = await api("/api/codes");
  } catch (failure) {
    note.textContent = failure.message;
    return;
  }
  note.textContent = codes.length
    ? "What should the camera look at? · 摄像头对准哪个二维码？"
    : "No QR codes exist yet: no posters, and no one received a QR picture · 暂无二维码";
  dialog.body.append(el("div", { class: "code-grid" }, codes.map((code) => el("button", {
    type: "button", class: "code", "data-testid": "code", "data-code-id": code.id,
    onclick: async () => {
      error.hidden = true;
      try {
        app.atBottom = true;
        await api(personPath(id, "scan"), { code: code.id });
        dialog.close();
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      }
    },
  }, el("img", { src: code.image, alt: "" }), el("span", { class: "code-title", text: code.title })))));
}

function chooseScanner(fileId) {
  const others = app.state ? app.state.people.filter((p) => p.id !== app.personId) : [];
  const dialog = openDialog({ title: "Scan with whose phone? · 用谁的手机扫码？", testid: "scan-with-picker" });
  if (!others.length) {
    dialog.body.append(el("p", { class: "dialog-note", text: "Add another person first · 请先添加其他人员" }));
    return;
  }
  dialog.body.append(el("div", { class: "choice-list" }, others.map((person) => el("button", {
    type: "button", class: "choice", "data-testid": "scan-person", "data-person-id": person.id,
    onclick: async () => {
      dialog.close();
      const ok = await attempt(() => api(personPath(person.id, "scan"), { code: `file:${fileId}` }));
      if (ok) openPerson(person.id);
    },
  }, avatar(person.name, person.id, "small"),
  el("span", { class: "choice-text" },
    el("span", { class: "choice-name", text: person.name }),
    person.about && el("span", { class: "choice-about", text: person.about }))))));
}

// ---------------------------------------------------------------------------------------
// Location picker: an offline sketch map from state.map

function niceStep(span) {
  const rough = span / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((f) => f * power).find((step) => step >= rough);
}

/** The map as SVG; onPick(lat, lon) on a click. Returns {svg, mark(lat, lon)}. */
function drawMap(bounds, onPick) {
  const { south, west, north, east } = bounds;
  // Keep the map roughly true to shape (a degree of longitude is shorter away from the equator).
  const trueAspect = (north - south) / ((east - west) * Math.cos(((south + north) / 2) * Math.PI / 180));
  // Map units are about CSS pixels at the usual size, so the CSS font sizes read as pixels.
  const W = 360;
  const H = Math.round(W * Math.min(1.3, Math.max(0.6, trueAspect)));
  const x = (lon) => ((lon - west) / (east - west)) * W;
  const y = (lat) => ((north - lat) / (north - south)) * H;
  const svg = svgEl("svg", {
    class: "map", "data-testid": "map", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "Map: click to choose a place · 点击地图选择位置",
    style: `width: min(100%, calc(46dvh * ${(W / H).toFixed(3)}))`, // the whole map fits the dialog
  });
  svg.append(svgEl("rect", { class: "map-land", x: 0, y: 0, width: W, height: H }));
  const grid = svgEl("g", { class: "map-grid" });
  const latStep = niceStep(north - south);
  for (let lat = Math.ceil(south / latStep) * latStep; lat < north; lat += latStep) {
    grid.append(svgEl("line", { x1: 0, x2: W, y1: y(lat), y2: y(lat) }));
    if (y(lat) > 16 && y(lat) < H - 20) grid.append(svgEl("text", { x: 4, y: y(lat) - 3 }, lat.toFixed(3)));
  }
  const lonStep = niceStep(east - west);
  for (let lon = Math.ceil(west / lonStep) * lonStep; lon < east; lon += lonStep) {
    grid.append(svgEl("line", { x1: x(lon), x2: x(lon), y1: 0, y2: H }));
    if (x(lon) > 50 && x(lon) < W - 50) grid.append(svgEl("text", { x: x(lon) + 3, y: H - 4 }, lon.toFixed(3)));
  }
  svg.append(grid, svgEl("text", { class: "map-north", x: W - 30, y: 18 }, "N ↑"));
  for (const place of bounds.places || []) {
    const px = x(place.longitude);
    const py = y(place.latitude);
    const anchor = px > W * 0.6 ? "end" : "start"; // labels near the right edge go leftwards
    svg.append(svgEl("g", {
      class: "map-place",
      onclick: (event) => { event.stopPropagation(); onPick(place.latitude, place.longitude); },
    },
    svgEl("title", {}, place.name),
    svgEl("circle", { cx: px, cy: py, r: 5 }),
    svgEl("text", { x: anchor === "end" ? px - 8 : px + 8, y: py + 4, "text-anchor": anchor }, place.name)));
  }
  const marker = svgEl("g", { class: "map-marker", visibility: "hidden" },
    svgEl("path", { d: "M0 0c-3-7-10-10-10-18a10 10 0 0 1 20 0c0 8-7 11-10 18z" }),
    svgEl("circle", { cx: 0, cy: -18, r: 3.5 }));
  svg.append(marker);
  svg.addEventListener("click", (event) => {
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
    const px = Math.min(W, Math.max(0, point.x));
    const py = Math.min(H, Math.max(0, point.y));
    const round = (v) => Math.round(v * 1e6) / 1e6;
    onPick(round(north - (py / H) * (north - south)), round(west + (px / W) * (east - west)));
  });
  function mark(lat, lon) {
    const inside = lat >= south && lat <= north && lon >= west && lon <= east;
    marker.setAttribute("visibility", inside ? "visible" : "hidden");
    if (inside) marker.setAttribute("transform", `translate(${x(lon)} ${y(lat)})`);
  }
  return { svg, mark };
}

function validBounds(map) {
  return map && [map.south, map.west, map.north, map.east].every(Number.isFinite)
    && map.north > map.south && map.east > map.west;
}

/** A dialog to choose coordinates; submit(lat, lon) is the POST (its 400 shows in the dialog). */
function openLocationPicker(title, submit) {
  closePopups();
  const dialog = openDialog({ title, testid: "location-picker", className: "picker" });
  const lat = el("input", { type: "number", step: "any", inputmode: "decimal", "data-testid": "lat", "aria-label": "Latitude" });
  const lon = el("input", { type: "number", step: "any", inputmode: "decimal", "data-testid": "lon", "aria-label": "Longitude" });
  const chosen = el("div", { class: "picked", text: "Click the map or type coordinates · 点击地图或输入坐标" });
  const error = el("p", { class: "form-error", "data-testid": "location-error", role: "alert", hidden: true });
  const map = app.state && validBounds(app.state.map) ? drawMap(app.state.map, pick) : null;

  function pick(latitude, longitude) {
    lat.value = latitude;
    lon.value = longitude;
    showChoice();
  }
  function showChoice() {
    const la = Number(lat.value);
    const lo = Number(lon.value);
    const both = lat.value !== "" && lon.value !== "" && Number.isFinite(la) && Number.isFinite(lo);
    chosen.textContent = both ? `📍 ${la}, ${lo}` : "Click the map or type coordinates · 点击地图或输入坐标";
    if (map) map.mark(both ? la : NaN, both ? lo : NaN);
    error.hidden = true;
  }
  lat.addEventListener("input", showChoice);
  lon.addEventListener("input", showChoice);

  const send = el("button", { type: "submit", class: "primary", "data-testid": "location-send" }, "Send · 发送");
  const form = el("form", { class: "picker-form", novalidate: true },
    el("div", { class: "coords" },
      el("label", {}, "Latitude · 纬度", lat),
      el("label", {}, "Longitude · 经度", lon)),
    chosen, error,
    el("div", { class: "dialog-buttons" },
      el("button", { type: "button", class: "plain", onclick: () => dialog.close() }, "Cancel · 取消"), send));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (lat.value === "" || lon.value === "") {
      error.textContent = "Click the map or type both a latitude and a longitude · 请选择或输入经纬度";
      error.hidden = false;
      return;
    }
    send.disabled = true;
    try {
      app.atBottom = true;
      await submit(Number(lat.value), Number(lon.value));
      dialog.close();
    } catch (failure) {
      error.textContent = failure.message; // e.g. impossible coordinates, in the server's words
      error.hidden = false;
    } finally {
      send.disabled = false;
    }
  });
  if (map) dialog.body.append(el("div", { class: "map-frame" }, map.svg));
  else dialog.body.append(el("p", { class: "dialog-note", text: "No map in this sandbox; type coordinates · 无地图，请输入坐标" }));
  dialog.body.append(form);
}

// ---------------------------------------------------------------------------------------
// Log panel

const LOG_LIMIT = 500;

function logLine(line) {
  const level = String(line.level || "INFO").toUpperCase();
  return el("div", { class: `log-line level-${level.toLowerCase()}` },
    el("span", { class: "log-time", text: line.time }), " ",
    el("span", { class: "log-level", text: level }), " ",
    el("span", { class: "log-text", text: line.text }));
}

function setLog(lines) {
  app.log = lines.slice(-LOG_LIMIT);
  $("log-lines").replaceChildren(...app.log.map(logLine));
  renderLogTitle();
  scrollLogToEnd(true);
}

function appendLog(line) {
  const box = $("log-lines");
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
  app.log.push(line);
  box.append(logLine(line));
  while (app.log.length > LOG_LIMIT) {
    app.log.shift();
    box.firstElementChild.remove();
  }
  renderLogTitle();
  scrollLogToEnd(atEnd);
}

function scrollLogToEnd(should) {
  const box = $("log-lines");
  if (should) box.scrollTop = box.scrollHeight;
}

function renderLogTitle() {
  const problems = app.log.filter((l) => /^(WARNING|ERROR|CRITICAL)$/i.test(l.level)).length;
  $("log-title").textContent = `Sandbox log (${app.log.length})`;
  $("log-problems").textContent = problems ? `⚠ ${problems}` : "";
  $("log-problems").hidden = !problems;
}

function toggleLog() {
  const lines = $("log-lines");
  lines.hidden = !lines.hidden;
  $("log-toggle").setAttribute("aria-expanded", String(!lines.hidden));
  $("log").classList.toggle("open", !lines.hidden);
  scrollLogToEnd(true);
}

// ---------------------------------------------------------------------------------------
// Live updates

function connectEvents() {
  const source = new EventSource("/api/events");
  const on = (name, handle) => source.addEventListener(name, (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // a malformed event must not stop the others
    }
    handle(data);
  });
  source.addEventListener("open", () => {
    if (!$("offline").hidden) {
      // Back after a break: events were missed, so read everything again.
      $("offline").hidden = true;
      app.reloadLog = true;
      refreshState();
      loadChat();
    }
  });
  source.addEventListener("error", () => {
    $("offline").hidden = false;
    if (source.readyState === EventSource.CLOSED) {
      // The browser gives up on some failures (e.g. a non-stream answer); try again ourselves.
      setTimeout(connectEvents, 3000);
    }
  });
  on("chat", (data) => {
    if (data.person === app.personId) loadChat();
    refreshState();
  });
  on("people", () => refreshState());
  on("answer", (data) => {
    if (data.person !== app.personId || !data.text) return;
    if (data.show_alert) showAlert(data.text);
    else toast(data.text, "answer");
  });
  on("clock", (clock) => {
    renderClock(clock);
    renderPeople();
    if (app.chat) renderMessages(app.chat.messages);
  });
  on("log", (line) => appendLog(line));
}

// ---------------------------------------------------------------------------------------
// Start

function insertIcons() {
  for (const button of document.querySelectorAll("[data-icon]")) {
    button.prepend(icon(button.dataset.icon));
  }
}

function wireControls() {
  $("clock-hour").addEventListener("click", () => moveClock({ advance: 3600 }));
  $("clock-day").addEventListener("click", () => moveClock({ advance: 86400 }));
  $("clock-jump").addEventListener("click", jumpClock);
  $("clock-to").addEventListener("input", () => { $("clock-to").dataset.auto = "no"; });
  $("clock-to").addEventListener("keydown", (event) => { if (event.key === "Enter") jumpClock(); });

  $("add-person").addEventListener("click", () => toggleNewPersonForm($("new-person").hidden));
  $("new-person-cancel").addEventListener("click", () => toggleNewPersonForm(false));
  $("new-person").addEventListener("submit", addPerson);

  $("back").addEventListener("click", closeChat);
  $("composer").addEventListener("keydown", onComposerKey);
  $("composer").addEventListener("input", autosizeComposer);
  $("send").addEventListener("click", sendComposer);
  $("commands").addEventListener("click", () => togglePopup("commands-menu"));
  $("attach").addEventListener("click", () => togglePopup("attach-menu"));
  $("share-contact").addEventListener("click", shareContact);
  $("share-location").addEventListener("click", shareLocation);
  $("scan").addEventListener("click", openCodes);
  $("log-toggle").addEventListener("click", toggleLog);

  const messages = $("messages");
  messages.addEventListener("scroll", () => {
    setAtBottom(messages.scrollHeight - messages.scrollTop - messages.clientHeight < 60);
  });
  $("to-bottom").addEventListener("click", scrollToBottom);
  new ResizeObserver(keepBottom).observe(messages);

  document.addEventListener("click", (event) => {
    if (!event.target.closest(".popup, #commands, #attach")) closePopups();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (openDialogs.length) openDialogs[openDialogs.length - 1].close();
    else closePopups();
  });
  window.addEventListener("focus", markReadIfSeen);
  document.addEventListener("visibilitychange", markReadIfSeen);
}

function reportPageErrors() {
  // A bug in this page should be seen, not leave a half-working screen.
  window.addEventListener("error", (event) => toast(`Page error: ${event.message}`, "error"));
  window.addEventListener("unhandledrejection", (event) =>
    toast(`Page error: ${event.reason && event.reason.message ? event.reason.message : event.reason}`, "error"));
}

async function start() {
  reportPageErrors();
  insertIcons();
  wireControls();
  try {
    applyState(await api("/api/state"));
  } catch (error) {
    toast(error.message, "error");
    showLoadError(error.message);
  }
  const wanted = Number((location.hash.match(/person=(\d+)/) || [])[1]);
  if (wanted && app.state && app.state.people.some((p) => p.id === wanted)) openPerson(wanted);
  connectEvents();
}

start();
