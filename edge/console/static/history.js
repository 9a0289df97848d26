// History page: passages, refusals, alerts and guard actions from the gate's store, with
// filters, paging and a CSV export of the same search.
"use strict";

const REASONS = JSON.parse(document.getElementById("reason-list").textContent);
let pageNo = 0;

function epoch(id) {
  const v = document.getElementById(id).value;
  const t = v ? gateEpoch(v) : null; // typed in the gate's time zone, like every time shown
  return t === null ? "" : String(t);
}

function params(page) {
  const p = new URLSearchParams();
  const add = (k, v) => { if (v) p.set(k, v); };
  add("since", epoch("h-since"));
  add("until", epoch("h-until"));
  add("household", document.getElementById("h-household").value.trim());
  add("kind", document.getElementById("h-kind").value);
  add("outcome", document.getElementById("h-outcome").value);
  add("reason", document.getElementById("h-reason").value);
  if (page) p.set("page", String(page));
  return p;
}

function outcomeText(r) {
  if (r.kind === "access") return r.outcome === "allow" ? T("allow") : T("deny");
  if (r.kind === "guard") return I18N["g_" + r.outcome] ? T("g_" + r.outcome) : r.outcome;
  if (r.kind === "door") return I18N["de_" + r.outcome] ? T("de_" + r.outcome) : r.outcome;
  return r.outcome;
}

function rowOf(r) {
  const sentence = BODY.lang === "zh" ? r.sentence_zh : r.sentence_en;
  const detail = [sentence, r.user, r.detail].filter(Boolean).join(" · ");
  return el("tr", { class: `k-${r.kind} o-${r.outcome}`, "data-seq": r.seq },
    el("td", { text: fmtDateTime(r.ts) }),
    el("td", { text: T("h_k_" + r.kind) }),
    el("td", { class: "outcome", text: outcomeText(r) }),
    el("td", { text: r.household || "" }),
    el("td", { text: detail }));
}

// An exact household key: its colour, status, perimeter zones and status changes on top.
async function householdCard() {
  const box = document.getElementById("hh-card");
  const key = document.getElementById("h-household").value.trim();
  if (!/^[A-Za-z0-9]{1,8}-[A-Za-z0-9]{1,8}-[A-Za-z0-9]{1,8}$/.test(key)) { box.hidden = true; return; }
  const h = await api("GET", `/api/households/${encodeURIComponent(key)}`);
  if (!h.key) { box.hidden = true; return; }
  const status = h.status === "normal" ? "" : ` · ${T("s_" + h.status)}`;
  const until = h.quarantine_until ? ` · ${T("h_until")} ${fmtDateTime(h.quarantine_until)}` : "";
  const zones = h.zones.length ? h.zones.map((z) => `${z.id} (${z.camera})`).join(", ") : "—";
  box.replaceChildren(
    el("span", { class: `legend-item c-${h.colour}`, text: `${h.key} · ${T("c_" + h.colour)}${status}${until}` }),
    el("span", { class: "meta", text: `${T("zone")}: ${zones}` }),
    ...h.changes.map((c) => el("span", { class: "meta change", text: `${fmtDateTime(c.ts)} ${c.change}` })));
  box.hidden = false;
}

async function load(page) {
  const p = params(page);
  document.getElementById("h-csv").href = "/api/history.csv?" + params(0).toString();
  householdCard();
  const data = await api("GET", "/api/history?" + p.toString());
  const msg = document.getElementById("h-msg");
  if (!data.rows) {
    msg.textContent = data.message || T("error");
    msg.className = "msg error";
    return;
  }
  pageNo = page;
  msg.textContent = data.rows.length ? "" : T("h_none");
  msg.className = "msg";
  document.getElementById("h-rows").replaceChildren(...data.rows.map(rowOf));
  document.getElementById("h-page").textContent = T("h_page").replace("{n}", String(page + 1));
  document.getElementById("h-prev").disabled = page === 0;
  document.getElementById("h-next").disabled = !data.more;
  document.body.dataset.loaded = String(Date.now());
}

const sel = document.getElementById("h-reason");
for (const [code, text] of REASONS) sel.append(el("option", { value: code, text: `${text} (${code})` }));
document.getElementById("hist-form").addEventListener("submit", (e) => { e.preventDefault(); load(0); });
document.getElementById("h-prev").addEventListener("click", () => load(Math.max(0, pageNo - 1)));
document.getElementById("h-next").addEventListener("click", () => load(pageNo + 1));
// A household from the colour map: /history?household=3-2-601
const start = new URLSearchParams(window.location.search).get("household");
if (start) document.getElementById("h-household").value = start;
load(0);
