// Health page: each value the gate reports, or "not available" for what is not wired yet.
"use strict";

function fmt(key, v, now) {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") {
    return key === "broker_connected" ? T(v ? "connected" : "disconnected") : T(v ? "yes" : "no");
  }
  if (key === "last_sync_ts") return `${fmtTime(v)} (${Math.round(now - v)} ${T("seconds")} ${T("ago")})`;
  if (key === "oldest_unacked_s") return `${Math.round(v)} ${T("seconds")}`;
  if (key === "detector_ms") return `${Number(v).toFixed(1)} ${T("ms")}`;
  if (typeof v === "object") {
    const parts = Object.entries(v).map(([k, x]) => `${k}: ${typeof x === "number" ? Math.round(x * 10) / 10 : x}`);
    return parts.length ? parts.join(" · ") : null;
  }
  return String(v);
}

function workerTable(list) {
  const head = el("tr", {}, ...["w_name", "w_state", "w_restarts", "w_problem"].map((k) => el("th", { text: T(k) })));
  const rows = list.map((w) => el("tr", { "data-worker": w.name, class: `ws-${w.state}` },
    el("td", { text: w.name }),
    el("td", { class: "state", text: I18N["ws_" + w.state] ? T("ws_" + w.state) : w.state }),
    el("td", { text: w.restarts === null || w.restarts === undefined ? "—" : String(w.restarts) }),
    el("td", { class: "problem", text: w.problem || "" })));
  return el("table", { class: "workers", "data-testid": "workers" }, head, ...rows);
}

async function load() {
  const data = await api("GET", "/api/health");
  if (!data.keys) return;
  const rows = data.keys.filter((k) => k !== "workers").map((k) => {
    const text = fmt(k, data.values[k], data.now);
    return el("tr", { "data-key": k }, el("th", { text: T("h_" + k) }),
      el("td", { class: text === null ? "na" : "", text: text === null ? T("not_available") : text }));
  });
  if (data.time_zone) {
    rows.push(el("tr", { "data-key": "time_zone" }, el("th", { text: T("h_time_zone") }),
      el("td", { text: `${data.time_zone} · ${fmtDateTime(data.now)}` })));
  }
  document.getElementById("health-rows").replaceChildren(...rows);
  const workers = data.values.workers;
  const box = document.getElementById("workers");
  box.replaceChildren(Array.isArray(workers) ? workerTable(workers)
    : el("p", { class: "na", text: T("not_available") }));
}

load();
setInterval(load, 5000);
