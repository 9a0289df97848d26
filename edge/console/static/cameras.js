// Cameras page: each camera's picture refreshed every 2 s with its zones drawn, and the zone
// editor (admins): click corners on a snapshot, bind to a household, save.
"use strict";

let state = { cameras: [], zones: [], households: [], can_edit: false };
let corners = [];

function zoneSvg(cameraId, extra) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 1 1");
  svg.setAttribute("preserveAspectRatio", "none");
  for (const z of state.zones.filter((z) => z.camera === cameraId)) {
    svgPolygon(svg, z.polygon, "zone");
  }
  return svg;
}

function snapUrl(id) {
  return `/api/cameras/${encodeURIComponent(id)}/snapshot?t=${Date.now()}`;
}

function renderCameras() {
  const box = document.getElementById("cameras");
  box.replaceChildren();
  if (!state.cameras.length) box.append(el("p", { class: "empty", text: T("no_cameras") }));
  for (const c of state.cameras) {
    const img = el("img", { src: snapUrl(c.id), alt: c.id, "data-camera": c.id });
    const none = el("p", { class: "no-picture", text: T("no_picture"), hidden: true });
    img.addEventListener("error", () => { img.classList.add("missing"); none.hidden = false; });
    img.addEventListener("load", () => { img.classList.remove("missing"); none.hidden = true; });
    const fps = c.fps ? ` · ${c.fps} fps` : "";
    box.append(el("figure", { class: "camera" },
      el("div", { class: "snap camera-snap" }, img, zoneSvg(c.id), none),
      el("figcaption", { text: `${c.name || c.id}${fps}` })));
  }
}

function drawEditor() {
  const svg = document.getElementById("editor-svg");
  svg.replaceChildren();
  const cam = document.getElementById("zone-camera").value;
  for (const z of state.zones.filter((z) => z.camera === cam)) svgPolygon(svg, z.polygon, "zone");
  if (corners.length) svgPolygon(svg, corners, "zone drawing");
  for (const p of corners) svgDot(svg, p, "corner");
}

function renderZoneList() {
  const ul = document.getElementById("zone-list");
  ul.replaceChildren();
  for (const z of state.zones) {
    const li = el("li", { "data-zone": z.id, text: `${z.id} · ${z.camera} · ${z.household} (${z.polygon.length})` });
    li.addEventListener("click", () => {
      document.getElementById("zone-id").value = z.id;
      document.getElementById("zone-household").value = z.household;
      document.getElementById("zone-camera").value = z.camera;
      corners = z.polygon.map((p) => [p[0], p[1]]);
      loadEditorImage();
    });
    ul.append(li);
  }
}

function loadEditorImage() {
  document.getElementById("editor-img").src = snapUrl(document.getElementById("zone-camera").value);
  drawEditor();
}

function setupEditor() {
  const editor = document.getElementById("editor");
  if (!state.can_edit || !state.cameras.length) {
    document.getElementById("editor-denied").hidden = state.can_edit;
    document.getElementById("editor-hint").hidden = !state.can_edit;
    return;
  }
  editor.hidden = false;
  const sel = document.getElementById("zone-camera");
  sel.replaceChildren(...state.cameras.map((c) => el("option", { value: c.id, text: c.name || c.id })));
  sel.addEventListener("change", () => { corners = []; loadEditorImage(); });
  document.getElementById("household-list").replaceChildren(
    ...state.households.map((h) => el("option", { value: h })));
  document.getElementById("editor-snap").addEventListener("click", (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    const y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
    corners.push([Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000]);
    drawEditor();
  });
  document.getElementById("zone-clear").addEventListener("click", () => { corners = []; drawEditor(); });
  document.getElementById("zone-save").addEventListener("click", async () => {
    const zone = {
      id: document.getElementById("zone-id").value.trim(),
      camera: sel.value,
      household: document.getElementById("zone-household").value.trim(),
      polygon: corners,
    };
    const r = await api("POST", "/api/zones", zone);
    const msg = document.getElementById("zone-msg");
    msg.textContent = r.ok ? `${T("saved")} ${r.warning || ""}` : r.message || T("error");
    msg.className = r.ok ? (r.warning ? "msg warn" : "msg ok") : "msg error";
    if (r.ok) {
      corners = [];
      await load();
      drawEditor();
    }
  });
  loadEditorImage();
}

async function load() {
  const data = await api("GET", "/api/cameras");
  if (!data.cameras) return;
  state = data;
  renderCameras();
  renderZoneList();
}

load().then(setupEditor);
setInterval(() => {
  for (const img of document.querySelectorAll("#cameras img[data-camera]")) {
    img.src = snapUrl(img.dataset.camera);
  }
}, 2000);
