// Live page: alerts (with sound), newest scans, door state, manual open.
"use strict";

let zones = {};
function alertCard(a) {
  const polygon = a.polygon || (zones[a.zone] && zones[a.zone].polygon);
  const snap = el("div", { class: "snap" });
  if (a.has_snapshot) {
    snap.append(el("img", { src: `/api/alerts/${encodeURIComponent(a.key)}/snapshot`, alt: "" }));
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 1 1");
    svg.setAttribute("preserveAspectRatio", "none");
    if (polygon) svgPolygon(svg, polygon, "zone armed");
    if (Array.isArray(a.box) && a.box.length === 4) {
      const [x1, y1, x2, y2] = a.box;
      svgPolygon(svg, [[x1, y1], [x2, y1], [x2, y2], [x1, y2]], "box");
    }
    snap.append(svg);
  }
  // The producer's own sentence in the user's language, else ours for its type.
  let title = alertTitle(a);
  if (a.count > 1) title += ` ×${a.count}`;
  if (a.phase === "end") title += ` (${T("alert_ended")})`;
  const meta = el(
    "p",
    { class: "meta" },
    `${T("household")} ${a.household || "—"} · ${T("camera")} ${a.camera || "—"} · ` +
      `${T("zone")} ${a.zone || "—"} · ${fmtDateTime(a.first_ts)}`,
  );
  const card = el("article", { class: a.acked_by ? "alert acked" : "alert", "data-key": a.key },
    el("h3", { text: title }), meta, snap);
  if (a.acked_by) {
    card.append(el("p", { class: "ackline", text:
      `${T("acked_by")} ${a.acked_by} ${fmtDateTime(a.acked_ts)}${a.note ? " — " + a.note : ""}` }));
  } else {
    const note = el("textarea", { class: "note", maxlength: BODY.noteMax, placeholder: T("note"), rows: 2 });
    const msg = el("p", { class: "msg" });
    const act = async (what) => {
      const r = await api("POST", `/api/alerts/${encodeURIComponent(a.key)}/${what}`, { note: note.value });
      msg.textContent = r.ok ? "" : r.message || T("error");
      msg.className = r.ok ? "msg" : "msg error";
      if (r.ok) refresh();
    };
    card.append(note, el("div", { class: "row" },
      el("button", { type: "button", class: "primary ack-btn", text: T("ack"), onclick: () => act("ack") }),
      el("button", { type: "button", class: "plain esc-btn", text: T("escalate"), onclick: () => act("escalate") })),
      msg);
  }
  if (a.escalated_by) card.append(el("p", { class: "ackline", text: `${T("escalated_by")} ${a.escalated_by}` }));
  return card;
}

function renderAlerts(list) {
  const box = document.getElementById("alerts");
  // Keep notes being typed: a door or scan event must not wipe a guard's half-written note.
  const drafts = {};
  for (const t of box.querySelectorAll("article[data-key] textarea")) {
    drafts[t.closest("article").dataset.key] = t.value;
  }
  box.replaceChildren();
  if (!list.length) box.append(el("p", { class: "empty", text: T("no_alerts") }));
  for (const a of list) {
    const card = alertCard(a);
    const t = card.querySelector("textarea");
    if (t && drafts[a.key]) t.value = drafts[a.key];
    box.append(card);
  }
}

// Refusals the rules profile lets a guard lift (the scan's needs_guard), narrowed by the
// console's list (every reason in it); the server checks the same and asks the profile again.
const OVERRULE = (document.getElementById("scans").dataset.overrule || "").split(",").filter(Boolean);
const OVERRULE_S = 120;

// Scans a guard has decided on this page: a refresh of the list (after the door opens, say)
// shows the decision again instead of asking a second time.
const DECIDED = new Map();

function decidedNote(seq) {
  return el("div", { class: "decide", "data-seq": seq }, el("span", { class: "msg ok", text: DECIDED.get(seq) }));
}

function decidePrompt(s) {
  const reason = el("input", { class: "decide-reason", maxlength: BODY.noteMax, placeholder: T("decide_reason") });
  const msg = el("span", { class: "msg" });
  const box = el("div", { class: "decide", "data-seq": s.seq });
  const go = async (allow) => {
    const r = await api("POST", `/api/scans/${s.seq}/decide`, { allow, reason: reason.value });
    if (r.ok) {
      DECIDED.set(s.seq, `${allow ? T("decide_allowed") : T("decide_denied")} · ${r.record.user}`);
      box.replaceChildren(el("span", { class: "msg ok", text: DECIDED.get(s.seq) }));
    } else {
      msg.textContent = r.message || T("error");
      msg.className = "msg error";
    }
  };
  box.append(el("span", { class: "decide-q", text: T("decide_q") }), reason,
    el("button", { type: "button", class: "primary decide-allow", text: T("decide_allow"), onclick: () => go(true) }),
    el("button", { type: "button", class: "plain decide-deny", text: T("decide_deny"), onclick: () => go(false) }),
    msg);
  return box;
}

function scanItem(s) {
  const sentence = BODY.lang === "zh" ? s.sentence_zh : s.sentence_en;
  const reasons = s.reasons || [];
  const prompt = !s.allow && s.needs_guard === true && reasons.length && reasons.every((r) => OVERRULE.includes(r)) &&
    Date.now() / 1000 - s.ts < OVERRULE_S;
  return el("li", { class: s.allow ? "scan allow" : "scan deny", "data-seq": s.seq },
    el("span", { class: "verdict", text: s.allow ? T("allow") : T("deny") }),
    el("span", { class: "sentence", text: sentence || "" }),
    el("span", { class: "meta", text:
      `${s.household || ""} ${T(s.direction === "out" ? "dir_out" : "dir_in")} ${fmtTime(s.ts)}` }),
    DECIDED.has(s.seq) ? decidedNote(s.seq) : prompt ? decidePrompt(s) : null);
}

function renderScans(list) {
  const ul = document.getElementById("scans");
  ul.replaceChildren();
  if (!list.length) ul.append(el("li", { class: "empty", text: T("no_scans") }));
  for (const s of list) ul.append(scanItem(s));
}

const ALARM_STATES = ["forced_open", "held_open_alarm", "emergency"];

function renderDoor(d) {
  const box = document.getElementById("door-state");
  const state = d.state || "unknown";
  box.textContent = I18N["door_" + state] ? T("door_" + state) : state;
  box.className = `door-state ${state}${ALARM_STATES.includes(state) ? " alarm" : ""}`;
  const last = document.getElementById("door-last");
  last.textContent = d.event ? `${T("door_last")}: ${T("de_" + d.event)} ${fmtTime(d.ts)}` : "";
}

async function refresh() {
  const data = await api("GET", "/api/live");
  if (!data.alerts) return;
  zones = Object.fromEntries((data.zones || []).map((z) => [z.id, z]));
  renderAlerts(data.alerts);
  renderScans(data.scans);
  renderDoor(data.door || {});
}

function connect() {
  // The page's stream is console.js's STREAM (attention on every page shares it).
  STREAM.addEventListener("access", (e) => {
    const d = JSON.parse(e.data);
    const ul = document.getElementById("scans");
    const empty = ul.querySelector(".empty");
    if (empty) empty.remove();
    // A refresh (on a door event, say) may already show this scan: replace it, never twice.
    const seen = d.scan ? ul.querySelector(`:scope > li[data-seq="${d.scan.seq}"]`) : null;
    if (seen) seen.replaceWith(scanItem(d.scan));
    else if (d.scan) ul.prepend(scanItem(d.scan));
    while (ul.children.length > 50) ul.lastChild.remove();
  });
  for (const kind of ["alert", "door", "guard"]) STREAM.addEventListener(kind, refresh);
}

if (BODY.canOpen) {
  const form = document.getElementById("open-form");
  form.hidden = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await api("POST", "/api/door/open", { reason: document.getElementById("open-reason").value });
    const msg = document.getElementById("open-msg");
    msg.textContent = r.ok ? T("opened") : r.message || T("error");
    msg.className = r.ok ? "msg ok" : "msg error";
    if (r.ok) {
      document.getElementById("open-reason").value = "";
      // Show the door's new state now, even if the live stream is (re)connecting and
      // misses the door event.
      refresh();
    }
  });
}

connect();
refresh();
setInterval(refresh, 15000); // a safety net if the stream silently stalls
