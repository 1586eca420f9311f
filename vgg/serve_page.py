"""The live page of stylize.py --serve (vgg/serve.py serves it): HTML, its style and its script.

One self-contained page: no CDN, no web font, no external script; the browser is told so
(vgg/serve_http.py's Content-Security-Policy allows this script and this style by their hashes,
and requests to this server only). The script polls /state.json every POLL_MS, fetches
/image.png when the image's version moves on, and draws everything else itself:

  - the counter: step, evaluations out of the budget, scale, seconds, and the time left
    (from the seconds per evaluation so far; #left carries it in data-seconds);
  - the inputs: the photo and the paintings as thumbnails with their file names, fetched
    once from /inputs.json when the run has loaded them;
  - the loss curves, eq. 7's weighted terms (alpha content, beta style, tv TV) and their sum,
    against the evaluations on a log scale, as an inline SVG;
  - each layer's own term (unweighted, before the layer weights), with a bar against the
    largest it has been in this run: a learner sees which layer is still far from its target;
  - the settings, and at the end how the run ended and where the result was saved.

Text from the run (file names among it) goes in with textContent, never as HTML. The DOM
carries what a test can read without running the script: #counter's data-evals and
data-step, #image's data-version, #curves' data-points (points drawn per curve), #status's
data-state, #left's data-seconds, #inputs' data-count (thumbnails shown).
"""

STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.2em; color: #222; background: #fafafa; }
h1 { font-size: 1.3em; margin: 0 0 .2em; } h2 { font-size: 1em; margin: 1em 0 .3em; }
#status { margin: 0 0 .8em; } #status[data-state=done] { color: #176117; font-weight: bold; }
#status[data-state=interrupted], #status[data-state=stopped], #status[data-state=failed],
#status[data-state=lost] { color: #a31515; font-weight: bold; }
.columns { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
#image { width: 100%; max-width: 512px; min-height: 128px; background: #e4e4e4;
         border: 1px solid #ccc; }
#view { flex: 1 1 360px; max-width: 600px; } #side { flex: 1 1 480px; max-width: 640px; }
progress { width: 100%; height: .8em; }
svg { width: 100%; height: auto; background: #fff; border: 1px solid #ccc; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
table { border-collapse: collapse; font-size: 13px; }
td, th { padding: .15em .6em .15em 0; text-align: left; vertical-align: middle; }
td.num { font-variant-numeric: tabular-nums; text-align: right; }
#settings td { color: #555; } #settings td.value { color: #222; padding-right: 2em;
               max-width: 20em; overflow-wrap: anywhere; }
.bar { display: inline-block; height: .7em; background: #d62728; }
.bar.content { background: #1f77b4; } .barbox { width: 160px; background: #eee; }
.key { display: inline-block; width: 1.2em; height: .25em; vertical-align: middle; margin: 0 .3em 0 .8em; }
.key.content { background: #1f77b4; } .key.style { background: #d62728; }
.key.tv { background: #2ca02c; } .key.total { background: #000; }
#inputs { display: flex; flex-wrap: wrap; gap: .8em; } #inputs figure { margin: 0; }
#inputs img { display: block; max-width: 120px; max-height: 120px; border: 1px solid #ccc; }
#inputs figcaption { font-size: 12px; color: #555; max-width: 120px; overflow-wrap: anywhere; }
#left { font-weight: bold; }
"""

SCRIPT = """
"use strict";
const POLL_MS = 500;
const CURVES = [["content", "alpha * content", "#1f77b4"], ["style", "beta * style", "#d62728"],
                ["tv", "tv * TV", "#2ca02c"], ["total", "total", "#000000"]];
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let shownImage = 0, shownSettings = false, shownInputs = false, failures = 0;

function clock(seconds) {
  seconds = Math.round(seconds);
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  return (h ? h + " h " : "") + (h || m ? m + " min " : "") + s + " s";
}

function showLeft(state) {
  const left = $("left"), running = state.run.state === "running";
  if (!running || !state.evals || state.evals >= state.total) {
    left.textContent = ""; delete left.dataset.seconds; return;
  }
  const seconds = state.seconds / state.evals * (state.total - state.evals);
  left.dataset.seconds = seconds.toFixed(1);
  left.textContent = "about " + clock(seconds) + " left";
}

async function fetchInputs() {
  const answer = await fetch("/inputs.json", {cache: "no-store"});
  if (!answer.ok) return;
  const inputs = await answer.json(), box = $("inputs");
  const shown = (inputs.content ? [["photo", inputs.content]] : [])
    .concat(inputs.styles.map((style, i) => [inputs.styles.length > 1 ? "painting " + (i + 1) : "painting", style]));
  for (const [what, input] of shown) {
    const figure = document.createElement("figure"), img = document.createElement("img");
    const caption = document.createElement("figcaption");
    img.src = input.src; img.alt = what; figure.title = input.path;
    caption.textContent = what + ": " + input.name;
    figure.append(img, caption); box.append(figure);
  }
  box.dataset.count = shown.length;
  shownInputs = true;
}

function svg(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawCurves(state) {
  const box = $("curves"), c = state.curves;
  const W = 560, H = 300, L = 54, R = 10, T = 10, B = 34;
  box.replaceChildren();
  const values = CURVES.flatMap(([k]) => c[k]).filter((v) => v !== null && v > 0);
  if (!values.length) { box.dataset.points = 0; return; }
  let lo = Math.floor(Math.log10(Math.min(...values))), hi = Math.ceil(Math.log10(Math.max(...values)));
  if (hi === lo) hi = lo + 1;
  const xmax = Math.max(state.total, c.evals[c.evals.length - 1], 1);
  const x = (e) => L + (W - L - R) * e / xmax;
  const y = (v) => T + (H - T - B) * (hi - Math.log10(v)) / (hi - lo);
  box.append(svg("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#bbb"}));
  const step = Math.max(1, Math.ceil((hi - lo) / 6));
  for (let k = lo; k <= hi; k += step) {
    box.append(svg("line", {x1: L, x2: W - R, y1: y(10 ** k), y2: y(10 ** k), stroke: "#eee"}));
    box.append(svg("text", {x: L - 4, y: y(10 ** k) + 4, "text-anchor": "end"}, "1e" + k));
  }
  for (const [e, anchor] of [[0, "start"], [xmax / 2, "middle"], [xmax, "end"]]) {
    box.append(svg("text", {x: x(e), y: H - B + 14, "text-anchor": anchor}, String(Math.round(e))));
  }
  box.append(svg("text", {x: L + (W - L - R) / 2, y: H - 4, "text-anchor": "middle"},
                 "evaluations of the loss"));
  let drawn = 0;
  for (const [key, , colour] of CURVES) {
    const points = [];
    c.evals.forEach((e, i) => { const v = c[key][i]; if (v !== null && v > 0) points.push(x(e).toFixed(1) + "," + y(v).toFixed(1)); });
    if (!points.length) continue;
    box.append(svg("polyline", {points: points.join(" "), fill: "none", stroke: colour,
                                "stroke-width": 1.6, "stroke-dasharray": key === "total" ? "5 3" : "none",
                                "data-curve": key}));
    drawn = Math.max(drawn, points.length);
  }
  box.dataset.points = drawn;
}

function drawLayers(state) {
  const table = $("layers");
  table.replaceChildren();
  for (const kind of ["content", "style"]) {
    const terms = (state.layers || {})[kind] || {};
    for (const [name, value] of Object.entries(terms)) {
      const top = state.layer_max[kind + " " + name] || 0;
      const row = table.insertRow();
      row.insertCell().textContent = kind;
      row.insertCell().textContent = name;
      const cell = row.insertCell();
      cell.className = "num";
      cell.textContent = value === null ? "not finite" : value.toPrecision(3);
      const box = row.insertCell(), bar = document.createElement("span");
      box.className = "barbox";
      bar.className = "bar " + kind;
      bar.style.width = (top > 0 && value !== null ? 100 * value / top : 0).toFixed(1) + "%";
      box.append(bar);
    }
  }
}

function showSettings(settings) {
  const table = $("settings"), entries = Object.entries(settings);
  const rows = Math.ceil(entries.length / 3);            // three name-value pairs a row
  for (let i = 0; i < rows; i++) {
    const row = table.insertRow();
    for (const entry of [entries[i], entries[i + rows], entries[i + 2 * rows]]) {
      if (entry === undefined) continue;                  // the last row may be short
      const [name, value] = entry;
      row.insertCell().textContent = name.replaceAll("_", " ");
      const cell = row.insertCell();
      cell.className = "value";
      cell.textContent = value === null ? "-" : Array.isArray(value) ? value.join(", ") : String(value);
    }
  }
  shownSettings = true;
}

function show(state) {
  const status = $("status"), counter = $("counter");
  status.dataset.state = state.run.state;
  status.textContent = state.run.message;
  counter.dataset.evals = state.evals;
  counter.dataset.step = state.step;
  const per = state.evals ? (state.seconds / state.evals).toFixed(2) + " s per evaluation" : "";
  counter.textContent = "step " + state.step + ", " + state.evals + " of " + state.total +
    " evaluations" + (state.settings.scales > 1 ? ", scale " + (state.scale + 1) + " of " + state.settings.scales : "") +
    ", " + state.seconds.toFixed(1) + " s" + (per ? " (" + per + ")" : "") +
    (state.loss !== null && state.evals ? ", loss " + state.loss.toPrecision(4) : "");
  $("progress").value = state.total ? Math.min(1, state.evals / state.total) : 0;
  showLeft(state);
  if (!shownSettings) showSettings(state.settings);
  drawCurves(state);
  drawLayers(state);
}

async function fetchImage() {
  const answer = await fetch("/image.png", {cache: "no-store"});
  if (!answer.ok) return;
  const version = Number(answer.headers.get("X-Image-Version"));
  const url = URL.createObjectURL(await answer.blob()), img = $("image"), old = img.src;
  img.onload = () => { if (old.startsWith("blob:")) URL.revokeObjectURL(old); img.dataset.version = version; };
  img.src = url;
  shownImage = version;
}

async function poll() {
  let state;
  try {
    const answer = await fetch("/state.json", {cache: "no-store"});
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    state = await answer.json();
    failures = 0;
  } catch (error) {
    failures += 1;
    if (failures < 3) { setTimeout(poll, POLL_MS * 2); return; }
    const status = $("status");
    if (["loading", "running"].includes(status.dataset.state || "loading")) {
      status.dataset.state = "lost";
      status.textContent = "the run has stopped answering: it has ended (see the terminal)";
    }
    return;
  }
  show(state);
  try { if (state.image > shownImage) await fetchImage(); } catch (error) { /* the next poll retries */ }
  try { if (state.inputs && !shownInputs) await fetchInputs(); } catch (error) { /* retried */ }
  if (["loading", "running"].includes(state.run.state)) setTimeout(poll, POLL_MS);
}

poll();
"""

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stylize.py: watch it paint</title>
<link rel="icon" href="data:,">
<style>{STYLE}</style>
</head>
<body>
<h1>stylize.py: watch it paint</h1>
<p id="status" data-state="loading">connecting to the run</p>
<div class="columns">
<div id="view">
<img id="image" alt="the image being painted" data-version="0">
<p id="counter" data-evals="0" data-step="0"></p>
<progress id="progress" max="1" value="0"></progress>
<p id="left"></p>
</div>
<div id="side">
<h2>The inputs</h2>
<div id="inputs" data-count="0"></div>
<h2>The loss (eq. 7): its weighted terms, log scale</h2>
<svg id="curves" viewBox="0 0 560 300" data-points="0" role="img" aria-label="loss curves"></svg>
<p><span class="key content"></span>alpha * content <span class="key style"></span>beta * style
<span class="key tv"></span>tv * TV <span class="key total"></span>total (dashed)</p>
<h2>Each layer's own term</h2>
<p>Unweighted, before the layer weights; the bar is the term against the largest it has
been in this run, so a long bar is a layer still far from its target.</p>
<table id="layers"></table>
</div>
</div>
<h2>Settings</h2>
<table id="settings"></table>
<script>{SCRIPT}</script>
</body>
</html>
"""
