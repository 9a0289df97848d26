// Households page: the colour map (分色作战图), filtered by colour class, status and search.
"use strict";

const COLOURS = ["red", "yellow", "green", "blue", "grey", "black"];
let all = [];
const active = new Set(); // colours shown; empty = all

function chips() {
  const box = document.getElementById("colour-chips");
  box.replaceChildren(el("button", { type: "button", class: "chip all", "data-colour": "",
    text: T("all"), onclick: () => { active.clear(); update(); } }));
  for (const c of COLOURS) {
    box.append(el("button", { type: "button", class: `chip c-${c}`, "data-colour": c,
      text: T("c_" + c), onclick: () => { active.has(c) ? active.delete(c) : active.add(c); update(); } }));
  }
}

function update() {
  const q = document.getElementById("hh-search").value.trim().toLowerCase();
  const status = document.getElementById("status-filter").value;
  const shown = all.filter((h) => (!active.size || active.has(h.colour)) &&
    (!status || h.status === status) && (!q || h.key.toLowerCase().includes(q)));
  for (const b of document.querySelectorAll("#colour-chips .chip")) {
    const c = b.dataset.colour;
    b.classList.toggle("on", c ? active.has(c) : active.size === 0);
  }
  const grid = document.getElementById("hh-grid");
  // Each tile leads to the household's history: passages, alerts and guard actions.
  grid.replaceChildren(...shown.map((h) => el("a", {
    href: `/history?household=${encodeURIComponent(h.key)}`,
    class: `hh c-${h.colour} s-${h.status}`, "data-key": h.key, "data-colour": h.colour,
    "data-status": h.status, title: `${T("c_" + h.colour)} · ${T("s_" + h.status)}` },
    el("b", { text: h.key }),
    el("span", { text: h.status === "normal" ? T("c_" + h.colour) : T("s_" + h.status) }))));
  document.getElementById("hh-count").textContent = String(shown.length);
  const counts = {};
  for (const h of all) counts[h.colour] = (counts[h.colour] || 0) + 1;
  document.getElementById("legend").replaceChildren(...COLOURS.map((c) =>
    el("span", { class: `legend-item c-${c}`, text: `${T("c_" + c)} ${counts[c] || 0}` })));
}

async function load() {
  const data = await api("GET", "/api/households");
  if (!data.households) return;
  all = data.households;
  document.getElementById("lists-version").textContent = `${T("lists_version")} ${data.version}`;
  update();
}

chips();
document.getElementById("hh-search").addEventListener("input", update);
document.getElementById("status-filter").addEventListener("change", update);
load();
setInterval(load, 30000);
// A colour change arrives as an alert: redraw the map with the new lists at once.
STREAM.addEventListener("alert", load);
