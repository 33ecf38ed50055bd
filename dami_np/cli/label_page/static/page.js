// dami label: the page. One card at a time (the first open pick of the batch); every action is a
// POST whose answer is the new state. No answer is ever pre-selected. No build step, no libraries.
"use strict";

const key = new URLSearchParams(location.search).get("key");
let state = null;
let busy = false;
let showAll = false;
let shownRow = null;

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) node.append(child);
  return node;
}

async function call(path, body) {
  const headers = { "X-Dami-Page": "1" };
  if (key) headers["X-Dami-Key"] = key;
  const init = body === undefined ? { headers } :
    { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { error: "the dami label server does not answer (stopped?): nothing was written" };
  }
  try {
    return await response.json();
  } catch (error) {
    return { error: `unexpected answer from the server (HTTP ${response.status})` };
  }
}

function message(text) {
  $("message").textContent = text || "";
  $("message").hidden = !text;
}

async function load(sync) {
  const next = await call("/api/state" + (sync ? "?sync=1" : ""));
  if (next.error) { message(next.error); return; }
  if (!state || next.version !== state.version) render(next);
}

async function act(path, extra) {
  if (busy || !state) return;
  busy = true;
  document.body.classList.add("busy");
  const result = await call(path, { token: state.token, ...extra });
  busy = false;
  document.body.classList.remove("busy");
  if (result.error) {
    message(result.error);
    await load(false);
    return;
  }
  message(result.message || "");
  render(result);
}

function currentCard() {
  return state.cards.find((card) => card.state === "open") || null;
}

function render(next) {
  state = next;
  $("where").textContent = `${state.table} · column ${state.label}`;
  const doneInBatch = state.cards.filter((c) => c.state !== "open").length;
  const perClass = state.classes.map((c) => `${c.name} ${c.count}`).join(", ");
  $("progress").textContent = (state.batch ? `batch ${state.batch}: ${doneInBatch} of ${state.cards.length} done · ` : "") +
    `labeled ${state.labeled} (${perClass}) · unlabeled ${state.unlabeled}` +
    (state.model ? ` · model saved to ${state.model} after each batch` : "");
  if (state.message) message(state.message);
  renderStatus();
  renderChips();
  const card = state.selecting || state.done ? null : currentCard();
  $("card").hidden = !card;
  $("waiting").hidden = !!card;
  $("retry").hidden = true;
  if (card) {
    renderCard(card);
  } else if (state.selecting) {
    $("waiting-text").textContent = state.batch ? `Batch ${state.batch} is done: picking the next batch…` :
      "Picking the first batch…";
  } else if (state.done) {
    $("waiting-text").textContent = "Every row of the table is labeled.";
  } else {
    $("waiting-text").textContent = "No batch on screen.";
    $("retry").hidden = false;
  }
  $("undo").disabled = !state.can_undo;
}

function renderStatus() {
  const lines = state.status || [];
  $("status").hidden = lines.length === 0;
  if (!lines.length) return;
  $("status-title").textContent = state.batch > 1 ? `Status after batch ${state.batch - 1}` : "Status before batch 1";
  $("status-lines").replaceChildren(...lines.map((line) => el("li", { textContent: line })));
  $("status").classList.toggle("stop", lines.some((line) => line.startsWith("stop rule met")));
}

function renderChips() {
  const current = currentCard();
  $("chips").replaceChildren(...state.cards.map((card) => {
    const text = card.state === "answered" ? `${card.pick}: ${card.answer}` : `${card.pick}`;
    const item = el("li", { textContent: text, title: `row ${card.row}` + (card.by_other ? " (labeled elsewhere)" : "") });
    item.className = card.state + (card === current && !state.selecting ? " current" : "");
    item.dataset.row = card.row;
    return item;
  }));
}

function renderCard(card) {
  if (shownRow !== card.row) {
    shownRow = card.row;
    showAll = false;
    $("note").value = card.note || "";
  }
  $("card").dataset.row = card.row;
  $("pick").textContent = `Pick ${card.pick} of ${state.cards.length} · row ${card.row}` + (card.id ? ` · id ${card.id}` : "");
  $("guess").textContent = card.predicted === null ? "no model yet" :
    `model's guess: ${card.predicted}` + (card.probability === null ? "" : ` (${card.probability.toFixed(2)})`);
  const rows = card.values.filter((v) => showAll || v.top);
  const shown = rows.length ? rows : card.values.slice(0, 3);
  $("values").tBodies[0].replaceChildren(...shown.map((v) => {
    const row = el("tr", {}, el("td", { textContent: v.column }), el("td", { textContent: v.value }));
    if (v.top) row.className = "top";
    return row;
  }));
  const hidden = card.values.length - shown.length;
  $("more").hidden = card.values.length <= 3 && !showAll;
  $("more").textContent = showAll ? "show the top columns only" : `show all ${card.values.length} columns (${hidden} more)`;
  $("why").textContent = card.predicted === null ? "" :
    `Why ${card.predicted}: the columns this row's local linear model weighs most, as the change in ` +
    `${card.predicted}'s score per standard deviation (blue: towards ${card.predicted}, red: away from it)`;
  renderBars(card.explanation);
  $("classes").replaceChildren(...state.classes.map((c) => {
    const button = el("button", { type: "button" }, c.key ? el("kbd", { textContent: c.key }) : "", " " + c.name);
    button.dataset.label = c.name;
    button.addEventListener("click", () => answer(c.name));
    return button;
  }));
}

function renderBars(entries) {
  const largest = Math.max(1e-12, ...entries.map((e) => Math.abs(e.weight)));
  const bars = entries.map((e) => {
    const fill = el("div");
    fill.className = "fill " + (e.weight >= 0 ? "pos" : "neg");
    fill.style.width = `${(50 * Math.abs(e.weight)) / largest}%`;
    const track = el("div", {}, fill);
    track.className = "track";
    const row = el("div", {}, el("span", { textContent: e.name }), track,
      el("span", { textContent: (e.weight >= 0 ? "+" : "") + e.weight.toPrecision(3) }));
    row.className = "bar";
    row.children[0].className = "name";
    row.children[2].className = "num";
    return row;
  });
  $("bars").replaceChildren(...(bars.length ? bars : [el("p", { textContent: "no explanation (no model yet)" })]));
}

function answer(label) {
  const card = currentCard();
  if (!card || state.selecting) return;
  act("/api/answer", { row: card.row, label, note: $("note").value });
}

function skip() {
  const card = currentCard();
  if (card && !state.selecting) act("/api/skip", { row: card.row });
}

function undo() {
  if (state && state.can_undo && !state.selecting) act("/api/undo", {});
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || !state) return;
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
  if (typing) {
    if (event.key === "Enter" || event.key === "Escape") { event.target.blur(); event.preventDefault(); }
    return;
  }
  const pressed = event.key.toLowerCase();
  if (pressed === "s") skip();
  else if (pressed === "u") undo();
  else if (pressed === "n") { $("note").focus(); event.preventDefault(); }
  else {
    const match = state.classes.find((c) => c.key === pressed);
    if (match) answer(match.name);
    else return;
  }
  event.preventDefault();
});

// a clicked button must not keep the focus: Space or Enter would press it again on the next card
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button");
  if (button) button.blur();
});
$("skip").addEventListener("click", skip);
$("undo").addEventListener("click", undo);
$("retry").addEventListener("click", () => act("/api/retry", {}));
$("more").addEventListener("click", () => { showAll = !showAll; if (state) renderCard(currentCard()); });

load(true);
// another tab, a finished selection: look again every second while picking, else every 3 s
(function poll() {
  setTimeout(async () => { if (!busy) await load(false); poll(); }, !state || state.selecting ? 1000 : 3000);
})();
