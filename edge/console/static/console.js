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
  if (!ts) return "";
  const d = new Date(ts * 1000);
  return d.toLocaleTimeString(BODY.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
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

document.getElementById("lang-btn").addEventListener("click", async () => {
  const next = BODY.lang === "zh" ? "en" : "zh";
  const r = await api("POST", "/api/lang", { lang: next });
  if (r.ok) window.location.reload();
});
