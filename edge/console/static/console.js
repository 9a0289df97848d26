// Shared helpers of the guard console. No framework, no CDN: this file is served by the gate.
// Untrusted text (household keys, notes, names) only ever goes into textContent, never HTML.
"use strict";

const I18N = JSON.parse(document.getElementById("i18n").textContent);
const CSRF = document.querySelector('meta[name="csrf"]').content;
const BODY = document.body.dataset;

function T(key) {
  return I18N[key] || key;
}

// Build an element: el("div", {class: "x", text: "y"}, child1, child2)
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svgPolygon(svg, points, cls) {
  if (!points || points.length < 2) return null;
  const tag = points.length >= 3 ? "polygon" : "polyline";
  const poly = document.createElementNS(SVG_NS, tag);
  poly.setAttribute("points", points.map((p) => `${p[0]},${p[1]}`).join(" "));
  poly.setAttribute("class", cls || "zone");
  poly.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(poly);
  return poly;
}

function svgDot(svg, p, cls) {
  const c = document.createElementNS(SVG_NS, "circle");
  c.setAttribute("cx", p[0]);
  c.setAttribute("cy", p[1]);
  c.setAttribute("r", "0.008");
  c.setAttribute("class", cls || "corner");
  svg.append(c);
}

function fmtTime(ts) {
  // Always with the date: Live refills 24 h of history, so "09:12" alone is ambiguous.
  return fmtDateTime(ts);
}

function banner(text) {
  const b = document.getElementById("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

// JSON API call; an ended session sends the browser to the login form.
async function api(method, path, body) {
  const opts = { method, headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    banner(T("stream_lost"));
    return { ok: false, message: String(e) };
  }
  if (res.status === 401) {
    window.location.href = "/login?expired=1";
    return { ok: false };
  }
  let data = {};
  try {
    data = await res.json();
  } catch (e) {
    data = { ok: false, message: `${res.status}` };
  }
  if (!res.ok && data.ok === undefined) data.ok = false;
  // Refusals from the HTTP layer come with a fixed code; say them in the user's language.
  if (data.error && I18N["err_" + data.error]) data.message = T("err_" + data.error);
  return data;
}

// ---- Attention on every page: badge in the nav, banner, count in the title, alarm tone ----
// One server-sent-event stream per page, shared with the page's own script (STREAM).
const STREAM = new EventSource("/api/events");
const BASE_TITLE = document.title;
let soundOn = localStorage.getItem("eg-sound") !== "off";
let audio = null;
let lastBeep = 0;
const REMIND_MS = 60000; // an alert still unacknowledged sounds again this often

function audioContext() {
  // Created at page load: Chromium lets it run without a new click when the guard's last
  // page on this site had one (the login button), so the alarm is unlocked at login.
  if (!audio) {
    try { audio = new AudioContext(); } catch (e) { audio = null; }
  }
  if (audio) document.body.dataset.audio = audio.state;
  return audio;
}

function beep() {
  // A WebAudio tone: no sound file to ship, and it works offline.
  const ctx = audioContext();
  if (!soundOn || !ctx) return;
  lastBeep = Date.now();
  try {
    for (const [i, f] of [[0, 880], [1, 660], [2, 880]]) {
      const o = ctx.createOscillator();
      const g = ctx.createGain();
      o.frequency.value = f;
      g.gain.value = 0.2;
      o.connect(g).connect(ctx.destination);
      o.start(ctx.currentTime + i * 0.25);
      o.stop(ctx.currentTime + i * 0.25 + 0.2);
    }
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  } catch (e) {
    /* no audio device: the badge, banner and title are still there */
  }
}

// If the browser still holds the sound back, the first click or key anywhere releases it.
for (const ev of ["pointerdown", "keydown"]) {
  document.addEventListener(ev, () => {
    const ctx = audioContext();
    if (ctx && ctx.state === "suspended") ctx.resume().then(() => audioContext());
  });
}

function setSoundLabel() {
  const b = document.getElementById("sound-btn");
  b.textContent = soundOn ? T("sound_on") : T("sound_off");
  b.setAttribute("aria-pressed", soundOn ? "true" : "false");
}

document.getElementById("sound-btn").addEventListener("click", () => {
  soundOn = !soundOn;
  localStorage.setItem("eg-sound", soundOn ? "on" : "off");
  setSoundLabel();
  if (soundOn) beep();
});

function alertTitle(a) {
  const own = BODY.lang === "zh" ? a.message : a.message_en;
  const type = a.type || a.alert;
  return own || (I18N["a_" + type] ? T("a_" + type) : type || T("intrusion"));
}

// Dates and times are the gate's (data-tz, an IANA name), never the browser's: a phone set
// to another zone must show the same time as the booth PC and the records.
const GATE_TZ = BODY.tz || undefined;

function fmtDateTime(ts) {
  if (!ts) return "";
  const d = new Date(ts * 1000);
  return d.toLocaleString(BODY.lang === "zh" ? "zh-CN" : "en-GB", {
    hour12: false, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: GATE_TZ,
  });
}

// Unix seconds of a wall-clock time typed in the gate's zone ("2026-12-06T09:30", as a
// datetime-local input gives it): the zone's offset at that moment, found by formatting.
function gateEpoch(local) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || "");
  if (!m) return null;
  const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  const offsetAt = (t) => {
    const parts = {};
    for (const p of new Intl.DateTimeFormat("en-US", {
      timeZone: GATE_TZ, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(t))) parts[p.type] = p.value;
    const wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
    return wall - t;
  };
  let t = asUtc - offsetAt(asUtc);
  t = asUtc - offsetAt(t); // a second pass settles a time near a DST change
  return Math.floor(t / 1000);
}

function renderAttention(data) {
  const n = data.count || 0;
  document.title = n ? `(${n}) ${BASE_TITLE}` : BASE_TITLE;
  document.body.dataset.unacked = String(n);
  const link = document.querySelector('nav a[data-nav="live"]');
  let badge = link.querySelector(".badge");
  if (!badge) {
    badge = el("span", { class: "badge", "data-testid": "alert-badge" });
    link.append(badge);
  }
  badge.textContent = String(n);
  badge.hidden = !n;
  badge.setAttribute("aria-label", `${n} ${T("unacked_alerts")}`);
  const box = document.getElementById("attention");
  box.hidden = !n;
  if (!n) { box.replaceChildren(); return; }
  const a = data.alerts[0];
  const more = a.count > 1 ? ` ×${a.count}` : "";
  const title = alertTitle(a);
  const where = [a.household && !title.includes(a.household) && `${T("household")} ${a.household}`,
    a.zone && `${T("zone")} ${a.zone}`].filter(Boolean).join(" · ");
  box.replaceChildren(
    el("strong", { text: `${n} ${T("unacked_alerts")}` }),
    el("span", { text: ` ${title}${more}${where ? " · " + where : ""} · ${fmtDateTime(a.first_ts)}` }),
    BODY.page === "live" ? null : el("a", { href: "/live", class: "go", text: T("go_handle") }),
  );
  // A new alert id sounds at once; one left waiting sounds again every REMIND_MS.
  const seen = new Set(JSON.parse(sessionStorage.getItem("eg-seen") || "[]"));
  const fresh = data.alerts.some((x) => !seen.has(x.key));
  sessionStorage.setItem("eg-seen", JSON.stringify(data.alerts.map((x) => x.key).concat([...seen]).slice(0, 500)));
  if (fresh || Date.now() - lastBeep > REMIND_MS) beep();
}

async function refreshAttention() {
  const data = await api("GET", "/api/attention");
  if (data.alerts) renderAttention(data);
}

STREAM.addEventListener("alert", refreshAttention);
STREAM.addEventListener("guard", refreshAttention);
STREAM.addEventListener("expired", () => { STREAM.close(); window.location.href = "/login?expired=1"; });
// data-stream tells a person (and the browser tests) whether live updates are flowing.
STREAM.addEventListener("open", () => { banner(""); document.body.dataset.stream = "open"; refreshAttention(); });
STREAM.addEventListener("error", () => { banner(T("stream_lost")); document.body.dataset.stream = "lost"; });
setSoundLabel();
audioContext();
refreshAttention();
// Also how soon a colour change in freshly synced lists is noticed (edge/console/watch.py).
setInterval(refreshAttention, 5000);

document.getElementById("lang-btn").addEventListener("click", async () => {
  const next = BODY.lang === "zh" ? "en" : "zh";
  const r = await api("POST", "/api/lang", { lang: next });
  if (r.ok) window.location.reload();
});
