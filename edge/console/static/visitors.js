// Visitors page: registration at the booth (name, phone, unit, purpose, temperature, health
// code, commitment), the visitor pass as a QR code to show or print, couriers without entry.
"use strict";

let commitmentId = "";

function kind() {
  return document.querySelector('input[name="visit"]:checked').value;
}

function confirmBox(r) {
  // The household confirmed (by phone, or came down): the guard records it; the pass admits.
  if (r.confirmed_by) {
    return el("span", { class: "msg ok confirm-state", text: `${T("v_confirmed_by")} ${r.confirmed_by}` });
  }
  if (!r.awaiting) return null;
  const msg = el("span", { class: "msg warn confirm-state", text: T("v_awaiting") });
  const btn = el("button", { type: "button", class: "primary v-confirm", text: T("v_confirm"), onclick: async () => {
    const a = await api("POST", `/api/visitors/${r.pass_id}/confirm`, {});
    if (a.ok) load();
    else { msg.textContent = a.message || T("error"); msg.className = "msg error confirm-state"; }
  } });
  return el("div", { class: "decide" }, msg, btn);
}

function recentItem(r) {
  const what = r.visit === "courier" ? T("v_courier") : T("v_visitor");
  const until = r.valid_until ? ` · ${T("v_until")} ${fmtDateTime(r.valid_until)}` : "";
  return el("li", { class: "scan visit", "data-pass": r.pass_id || "" },
    el("span", { class: "verdict", text: what }),
    el("span", { class: "sentence", text: `${r.name} → ${r.household} · ${r.purpose}` }),
    el("span", { class: "meta", text: `${fmtDateTime(r.ts)} · ${r.user}${until}` }),
    confirmBox(r));
}

async function load() {
  const data = await api("GET", "/api/visitors");
  if (!data.commitment) return;
  commitmentId = data.commitment.id;
  const box = document.getElementById("v-commitment");
  box.querySelector('[lang="zh"]').textContent = data.commitment.zh;
  box.querySelector('[lang="en"]').textContent = data.commitment.en;
  const ul = document.getElementById("v-recent");
  ul.replaceChildren(...data.recent.map(recentItem));
  if (!data.recent.length) ul.append(el("li", { class: "empty", text: T("v_none") }));
  if (!data.available) {
    const msg = document.getElementById("v-msg");
    msg.textContent = T("v_no_key");
    msg.className = "msg warn";
  }
}

function syncKind() {
  document.getElementById("v-hours-label").hidden = kind() !== "visitor";
}
for (const r of document.querySelectorAll('input[name="visit"]')) r.addEventListener("change", syncKind);

document.getElementById("visit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const v = (id) => document.getElementById(id).value;
  const body = {
    visit: kind(), name: v("v-name"), phone: v("v-phone"), household: v("v-household"),
    purpose: v("v-purpose"), temperature_c: Number(v("v-temp")), health_colour: v("v-colour"),
    health_source: v("v-source"), hours: Number(v("v-hours")),
    confirmed_by_household: document.getElementById("v-confirmed").checked,
    needs_confirmation: document.getElementById("v-needs-confirm").checked,
    accepted: document.getElementById("v-accept").checked, commitment: commitmentId,
  };
  const r = await api("POST", "/api/visitors", body);
  const msg = document.getElementById("v-msg");
  msg.textContent = r.ok ? T(body.visit === "courier" ? "v_done_courier" : "v_done") : r.message || T("error");
  msg.className = r.ok ? "msg ok" : "msg error";
  const card = document.getElementById("pass-card");
  card.hidden = !(r.ok && r.pass);
  if (r.ok && r.pass) {
    document.getElementById("pass-qr").src = r.pass.qr;
    document.getElementById("pass-qr").dataset.pass = r.pass.text;
    document.getElementById("pass-who").textContent = `${body.name} → ${body.household}`;
    document.getElementById("pass-until").textContent = `${T("v_until")} ${fmtDateTime(r.pass.valid_until)}`;
    document.getElementById("pass-warn").textContent = r.warning || "";
    card.scrollIntoView({ block: "nearest" });
  }
  if (r.ok) {
    document.getElementById("visit-form").reset();
    syncKind();
    load();
  }
});

document.getElementById("pass-print").addEventListener("click", () => window.print());
syncKind();
load();
