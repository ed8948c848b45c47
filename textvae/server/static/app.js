"use strict";
// The explorer page: every panel calls the JSON API under api/; the latent map is drawn on a canvas.

const $ = (id) => document.getElementById(id);

const state = {
  space: "vae",      // the latent space on the map
  map: null,         // {texts, points, explained_variance} of the corpus
  cloud: null,       // texts of the sentence (first) and its paraphrases
  cloudPoints: null, // their map positions in the current space
  path: null,        // the last interpolation: {vae: {texts, z}, ae: {texts, z}}
  pathPoints: null,  // its latent path on the map of the current space
  clicked: null,     // {point, text} of the last decoded map position
};

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  const response = await fetch("api/" + path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function setStatus(id, message, isError = false) {
  const element = $(id);
  element.textContent = message;
  element.classList.toggle("error", isError);
}

function fillList(id, texts) {
  const list = $(id);
  list.replaceChildren(...texts.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
}

// A panel's requests: only the latest one's answer is shown; `render` may return a note for the status line.
function latestOnly(statusId) {
  let latest = 0;
  return async (message, request, render) => {
    const call = ++latest;
    setStatus(statusId, message);
    try {
      const data = await request();
      if (call === latest) setStatus(statusId, render(data) || "");
    } catch (error) {
      if (call === latest) setStatus(statusId, error.message, true);
    }
  };
}

function debounce(action, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, ms);
  };
}

function intIn(id, low, high) {
  const value = Math.round(Number($(id).value));
  const clamped = Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : low;
  $(id).value = clamped;
  return clamped;
}

// The trimmed texts of some inputs, or null (with `hint` on the status line) when one is empty.
function filled(ids, statusId, hint) {
  const values = ids.map((id) => $(id).value.trim());
  if (values.some((value) => !value)) {
    setStatus(statusId, hint);
    return null;
  }
  return values;
}

// ---- paraphrase -------------------------------------------------------------------------
const paraphraseRequests = latestOnly("paraphrase-status");

function paraphrase() {
  const [text] = filled(["sentence"], "paraphrase-status", "Type a sentence.") || [];
  if (!text) return;
  const body = {text, n: intIn("count", 1, 20), scale: Number($("scale").value)};
  paraphraseRequests("paraphrasing…", () => api("paraphrase", body), (data) => {
    fillList("paraphrases", data.paraphrases);
    state.cloud = [text, ...data.paraphrases];
    projectCloud();
    return data.paraphrases.length ? "" : "Every decode was the sentence itself: raise the scale.";
  });
}

function showScale() {
  $("scale-value").value = Number($("scale").value).toFixed(2);
}

// ---- interpolate ------------------------------------------------------------------------
const interpolateRequests = latestOnly("interp-status");

function interpolate() {
  const [a, b] = filled(["interp-a", "interp-b"], "interp-status", "Type both sentences.") || [];
  if (!a) return;
  const body = {a, b, steps: intIn("steps", 2, 100), method: $("method").value};
  interpolateRequests("interpolating…", () => api("interpolate", body), (data) => {
    fillList("interp-vae", data.vae.texts);
    fillList("interp-ae", data.ae.texts);
    state.path = data;
    projectPath();
  });
}

// ---- deterministic vs sampled, analogy, dialogue ----------------------------------------
// A <dl> of labelled rows: each label followed by its one or more texts.
function fillTerms(id, rows) {
  $(id).replaceChildren(...rows.flatMap(([label, value]) => {
    const term = document.createElement("dt");
    term.textContent = label;
    return [term, ...(Array.isArray(value) ? value : [value]).map((text) => {
      const detail = document.createElement("dd");
      detail.textContent = text;
      return detail;
    })];
  }));
}

const CONTRAST_ROWS = [
  ["ae_reconstruction", "AE reconstruction (no variation)"],
  ["vae_greedy_from_mu", "VAE greedy decode of μ"],
  ["vae_posterior_samples", "VAE samples from q(z|x)"],
  ["vae_prior_samples", "VAE prior samples z ~ N(0, I)"],
  ["ae_random_z", "AE decoding random z (its holes)"],
];
const contrastRequests = latestOnly("contrast-status");

function compare() {
  const [text] = filled(["sentence"], "contrast-status", "Type a sentence in the paraphrase box.") || [];
  if (!text) return;
  contrastRequests("decoding…", () => api("contrast", {text, n: 3}), (data) => {
    fillTerms("contrast", CONTRAST_ROWS.map(([key, label]) => [label, data[key]]));
  });
}

const analogyRequests = latestOnly("analogy-status");

function solveAnalogy() {
  const ids = ["analogy-a", "analogy-b", "analogy-c"];
  const [a, b, c] = filled(ids, "analogy-status", "Type all three sentences.") || [];
  if (!a) return;
  analogyRequests("decoding…", () => api("analogy", {a, b, c}), (data) => {
    fillTerms("analogy", [["VAE", data.vae], ["AE", data.ae]]);
  });
}

const respondRequests = latestOnly("respond-status");

function respond() {
  const [text] = filled(["sentence"], "respond-status", "Type a sentence in the paraphrase box.") || [];
  if (!text) return;
  respondRequests("replying…", () => api("respond", {text, n: 5}),
                  (data) => {
                    fillTerms("reply-fixed", [["deterministic (prior mean)", data.deterministic]]);
                    fillList("replies", data.responses);
                  });
}

// ---- the latent map ---------------------------------------------------------------------
const canvas = $("map");
const context = canvas.getContext("2d");
const view = {x0: -1, x1: 1, y0: -1, y1: 1};
const COLORS = {};

function readColors() {
  const style = getComputedStyle(document.documentElement);
  for (const name of ["corpus", "input", "cloud", "path", "clicked", "ink"]) {
    COLORS[name] = style.getPropertyValue("--" + name).trim();
  }
}

function size() {
  return {width: canvas.clientWidth, height: canvas.clientHeight};
}

function fitCanvas() {
  const ratio = window.devicePixelRatio || 1;
  const {width, height} = size();
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  draw();
}

function fitView(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const padX = (Math.max(...xs) - Math.min(...xs)) * 0.08 || 1;
  const padY = (Math.max(...ys) - Math.min(...ys)) * 0.08 || 1;
  Object.assign(view, {x0: Math.min(...xs) - padX, x1: Math.max(...xs) + padX,
                       y0: Math.min(...ys) - padY, y1: Math.max(...ys) + padY});
}

function toPixel([x, y]) {
  const {width, height} = size();
  return [(x - view.x0) / (view.x1 - view.x0) * width, (1 - (y - view.y0) / (view.y1 - view.y0)) * height];
}

function toMap(px, py) {
  const {width, height} = size();
  return [view.x0 + px / width * (view.x1 - view.x0), view.y0 + (1 - py / height) * (view.y1 - view.y0)];
}

function dot(point, radius, color) {
  const [x, y] = toPixel(point);
  context.beginPath();
  context.arc(x, y, radius, 0, 2 * Math.PI);
  context.fillStyle = color;
  context.fill();
}

function line(points, color, width) {
  context.beginPath();
  points.map(toPixel).forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
  context.strokeStyle = color;
  context.lineWidth = width;
  context.stroke();
}

function draw() {
  const {width, height} = size();
  context.clearRect(0, 0, width, height);
  Object.assign(canvas.dataset, {corpus: state.map?.points.length || 0, cloud: state.cloudPoints?.length || 0,
                                 path: state.pathPoints?.length || 0, clicked: state.clicked ? 1 : 0});
  if (!state.map) return;
  context.globalAlpha = 0.55;
  state.map.points.forEach((p) => dot(p, 2.5, COLORS.corpus));
  context.globalAlpha = 1;
  if (state.pathPoints) {
    line(state.pathPoints, COLORS.path, 2);
    state.pathPoints.forEach((p) => dot(p, 3.5, COLORS.path));
  }
  if (state.cloudPoints) {
    const [input, ...paraphrases] = state.cloudPoints;
    context.globalAlpha = 0.5;
    paraphrases.forEach((p) => line([input, p], COLORS.cloud, 1));
    context.globalAlpha = 1;
    paraphrases.forEach((p) => dot(p, 4.5, COLORS.cloud));
    dot(input, 6, COLORS.input);
  }
  if (state.clicked) dot(state.clicked.point, 5.5, COLORS.clicked);
  const [pc1, pc2] = state.map.explained_variance.map((v) => (100 * v).toFixed(1));
  context.fillStyle = COLORS.ink;
  context.font = "12px system-ui, sans-serif";
  context.fillText(`PC1 (${pc1} % of the variance) →`, 8, height - 8);
  context.fillText(`↑ PC2 (${pc2} %)`, 8, 16);
}

// Sentences under the cursor: corpus points, the paraphrase cloud and the interpolation path.
function labelledPoints() {
  const labelled = state.map ? state.map.points.map((p, i) => [p, state.map.texts[i]]) : [];
  if (state.cloudPoints) state.cloudPoints.forEach((p, i) => labelled.push([p, state.cloud[i]]));
  if (state.pathPoints) {
    state.pathPoints.forEach((p, i) => labelled.push([p, state.path[state.space].texts[i]]));
  }
  return labelled;
}

function hover(event) {
  const tooltip = $("map-tooltip");
  let best = null;
  let bestDistance = 10;
  for (const [point, text] of labelledPoints()) {
    const [x, y] = toPixel(point);
    const distance = Math.hypot(x - event.offsetX, y - event.offsetY);
    if (distance < bestDistance) [best, bestDistance] = [text, distance];
  }
  tooltip.hidden = best === null;
  if (best === null) return;
  tooltip.textContent = best;
  tooltip.style.left = `${event.offsetX + 12}px`;
  tooltip.style.top = `${event.offsetY + 12}px`;
}

const decodeRequests = latestOnly("map-status");

function decodeAt(event) {
  if (!state.map) return;
  const point = toMap(event.offsetX, event.offsetY);
  const space = state.space;
  decodeRequests("decoding…", () => api("decode", {space, point}), (data) => {
    if (space !== state.space) return;
    state.clicked = {point, text: data.text};
    $("map-decoded").textContent = `(${point[0].toFixed(2)}, ${point[1].toFixed(2)}) → ${data.text}`;
    draw();
  });
}

const projectRequests = {cloud: latestOnly("map-status"), path: latestOnly("map-status")};

function project(kind, body, store) {
  const space = state.space;
  projectRequests[kind]("", () => api("project", {space, ...body}), (data) => {
    if (space !== state.space) return;
    store(data.points);
    draw();
  });
}

function projectCloud() {
  if (state.map && state.cloud) {
    project("cloud", {texts: state.cloud}, (points) => (state.cloudPoints = points));
  }
}

function projectPath() {
  if (state.map && state.path) {
    project("path", {z: state.path[state.space].z}, (points) => (state.pathPoints = points));
  }
}

const mapRequests = latestOnly("map-status");
const MAP_HINT = "Hover over a dot to read its sentence; click anywhere to decode that point.";

function loadMap(corpusSize) {
  const space = $("map-space").value;
  Object.assign(state, {space, map: null, cloudPoints: null, pathPoints: null, clicked: null});
  $("map-caption").textContent = "";
  $("map-decoded").textContent = MAP_HINT;
  draw();
  const message = `mapping ${corpusSize} sentences (once per space)…`;
  mapRequests(message, () => api(`map?space=${space}`), (data) => {
    if (space !== state.space) return;
    state.map = data;
    fitView(data.points);
    $("map-caption").textContent = `${data.points.length} sentences, PCA of their posterior means`;
    draw();
    projectCloud();
    projectPath();
  });
}

// ---- start ------------------------------------------------------------------------------
async function start() {
  readColors();
  fitCanvas();
  let info;
  try {
    info = await api("info");
  } catch (error) {
    $("models").textContent = `Cannot reach the server: ${error.message}`;
    return;
  }
  const dialogue = info.dialogue ? ` · dialogue: ${info.dialogue.name}` : "";
  $("models").textContent = `VAE: ${info.vae.name} · AE: ${info.ae.name} · z: ${info.vae.latent_dim} ` +
    `dimensions${dialogue} · map: ${info.corpus}`;
  $("scale").value = info.vae.paraphrase_scale;
  showScale();
  $("dialogue").hidden = !info.dialogue;

  const paraphraseSoon = debounce(paraphrase, 150);
  $("scale").addEventListener("input", () => {
    showScale();
    paraphraseSoon();
  });
  $("sentence").addEventListener("input", debounce(paraphrase, 400));
  $("count").addEventListener("change", paraphrase);
  $("interp-run").addEventListener("click", interpolate);
  $("contrast-run").addEventListener("click", compare);
  $("respond-run").addEventListener("click", respond);
  $("analogy-run").addEventListener("click", solveAnalogy);
  $("map-space").addEventListener("change", () => loadMap(info.corpus_size));
  canvas.addEventListener("mousemove", hover);
  canvas.addEventListener("mouseleave", () => ($("map-tooltip").hidden = true));
  canvas.addEventListener("click", decodeAt);
  window.addEventListener("resize", fitCanvas);

  paraphrase();
  loadMap(info.corpus_size);
}

start();
