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

async function load() {
  const data = await api("GET", "/api/health");
  if (!data.keys) return;
  const rows = data.keys.map((k) => {
    const text = fmt(k, data.values[k], data.now);
    return el("tr", { "data-key": k }, el("th", { text: T("h_" + k) }),
      el("td", { class: text === null ? "na" : "", text: text === null ? T("not_available") : text }));
  });
  document.getElementById("health-rows").replaceChildren(...rows);
}

load();
setInterval(load, 5000);
