// The resident's screen: "show your code", then the decision, its sentence and what to do
// next, in Chinese and English. Fed by the same server-sent events as the guard's Live page
// (an `access` event is drawn as it arrives, with no further request).
"use strict";

const TABLE = JSON.parse(document.getElementById("kiosk-table").textContent);
const HOLD_MS = 8000; // a decision stays this long, then the screen asks for the next code
let idleTimer = null;

function nextStep(allow, reasons) {
  if (allow) return TABLE.steps.allow;
  const step = (reasons && reasons.length && TABLE.reasons[reasons[0]]) || "health";
  return TABLE.steps[step];
}

function setPair(id, zh, en) {
  const [z, e] = document.getElementById(id).children;
  z.textContent = zh || "";
  e.textContent = en || "";
}

function idle() {
  document.body.className = "kiosk idle";
  document.body.dataset.state = "idle";
  document.getElementById("k-mark").textContent = "";
  setPair("k-verdict", "请出示通行码", "Please show your code");
  setPair("k-sentence", "", "");
  setPair("k-next", "", "");
}

function show(s) {
  if (!s) return idle();
  const step = nextStep(s.allow, s.reasons);
  document.body.className = `kiosk ${s.allow ? "allow" : "deny"}`;
  document.body.dataset.state = s.allow ? "allow" : "deny";
  document.body.dataset.seq = String(s.seq || "");
  document.getElementById("k-mark").textContent = s.allow ? "✔" : "✖";
  setPair("k-verdict", s.allow ? "请通行" : "暂不能通行", s.allow ? "Welcome" : "Not now");
  setPair("k-sentence", s.sentence_zh, s.sentence_en);
  setPair("k-next", step.zh, step.en);
  clearTimeout(idleTimer);
  idleTimer = setTimeout(idle, HOLD_MS);
  // When the decision reached this screen (ms since the epoch): drawn now, painted at the
  // next frame; the latency test and docs/benchmarks.md read these.
  const seq = String(s.seq || "");
  document.body.dataset.shownAt = String(Date.now());
  requestAnimationFrame(() => requestAnimationFrame(() => {
    if (document.body.dataset.seq === seq) document.body.dataset.paintedAt = String(Date.now());
  }));
}

async function poll() {
  // Keeps the session alive and catches up if the stream stalled; never redraws an old one.
  try {
    const res = await fetch("/api/kiosk", { credentials: "same-origin" });
    if (res.status === 401) { window.location.href = "/login?expired=1"; return; }
    document.getElementById("k-conn").textContent = "";
  } catch (e) {
    document.getElementById("k-conn").textContent = "连接中断 · offline";
  }
}

function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("access", (e) => {
    const d = JSON.parse(e.data);
    if (d.scan) show(d.scan);
  });
  es.addEventListener("expired", () => { es.close(); window.location.href = "/login?expired=1"; });
  es.onopen = () => { document.body.dataset.stream = "open"; document.getElementById("k-conn").textContent = ""; };
  es.onerror = () => { document.body.dataset.stream = "lost"; document.getElementById("k-conn").textContent = "连接中断 · offline"; };
}

idle();
connect();
setInterval(poll, 15000);
