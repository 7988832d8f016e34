// The musicapi-mock dashboard: plain JavaScript over the control plane's documented endpoints.
"use strict";

const $ = (selector) => document.querySelector(selector);
const tokenInput = $("#token");
tokenInput.value = localStorage.getItem("musicapi-mock-token") || "";
tokenInput.addEventListener("change", () => localStorage.setItem("musicapi-mock-token", tokenInput.value));

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (tokenInput.value) headers.Authorization = `Bearer ${tokenInput.value}`;
  const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${data.message || ""}`);
  return data;
}

function say(text) { $("#status").textContent = text; }

function cell(row, value, className) {
  const td = document.createElement("td");
  if (value instanceof Node) td.append(value); else td.textContent = value === null || value === undefined ? "–" : String(value);
  if (className) td.className = className;
  row.append(td);
  return td;
}

function fill(selector, items, render) {
  const body = $(`${selector} tbody`);
  body.replaceChildren(...items.map((item) => { const row = document.createElement("tr"); render(row, item); return row; }));
}

function bar(progress) {
  const outer = document.createElement("span");
  outer.className = "bar";
  outer.title = `${progress}%`;
  const inner = document.createElement("span");
  inner.style.width = `${progress}%`;
  outer.append(inner);
  return outer;
}

function folded(label, text) {
  if (!text) return "–";
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = label;
  const pre = document.createElement("pre");
  pre.textContent = text;
  details.append(summary, pre);
  return details;
}

let selectedTask = null;

function mediaLinks(value) {
  // every audio link in a poll body, wherever the family puts it
  if (typeof value === "string") return /\.(mp3|wav|m4a)(\?|$)/.test(value) ? [value] : [];
  if (value && typeof value === "object") return Object.values(value).flatMap(mediaLinks);
  return [];
}

async function refresh() {
  try {
    const [clock, tasks, keys, ledger, faults, webhooks, journal] = await Promise.all([
      call("GET", "/_mock/clock"),
      call("GET", "/_mock/tasks?limit=200"),
      call("GET", "/_mock/keys"),
      call("GET", "/_mock/ledger?limit=100"),
      call("GET", "/_mock/faults"),
      call("GET", "/_mock/webhooks?limit=100"),
      call("GET", "/_mock/requests?limit=50"),
    ]);
    $("#clock").textContent = `${clock.now} (${clock.mode})`;
    $("#task-count").textContent = `${tasks.tasks.length}`;
    fill("#tasks", tasks.tasks, (row, task) => {
      row.className = "task";
      row.dataset.taskId = task.task_id;
      cell(row, task.task_id.slice(0, 8));
      cell(row, task.family);
      cell(row, task.operation);
      cell(row, task.api_key);
      cell(row, task.status, `status-${task.status}`).dataset.testid = "task-status";
      cell(row, bar(task.progress));
      cell(row, `${task.charged.credits}${task.refunded ? " (refunded)" : ""}`);
      row.addEventListener("click", () => { selectedTask = task.task_id; showTask(); });
    });
    fill("#keys", keys.keys, (row, key) => {
      for (const value of [key.api_key, key.credits, key.extra_credits, key.qps, key.queue_capacity, key.expires_at]) cell(row, value);
    });
    fill("#ledger", ledger.entries.slice(-30), (row, entry) => {
      for (const value of [entry.seq, entry.api_key, entry.reason, entry.amount, entry.task_id && entry.task_id.slice(0, 8), entry.error_id]) cell(row, value);
    });
    fill("#faults", faults.faults, (row, rule) => {
      for (const value of [rule.operation, rule.error, rule.times ?? `p=${rule.probability}`, rule.api_key, rule.hits]) cell(row, value);
    });
    fill("#webhooks", webhooks.deliveries, (row, delivery) => {
      cell(row, delivery.task_id.slice(0, 8));
      cell(row, delivery.event);
      cell(row, delivery.state);
      cell(row, delivery.attempts.map((a) => `${a.status ?? a.error}`).join(", "));
    });
    fill("#journal", journal.requests.slice().reverse(), (row, entry) => {
      for (const value of [entry.seq, entry.operation, entry.status, entry.api_key, entry.error_id]) cell(row, value);
      cell(row, folded("request", entry.request_body));
      cell(row, folded("response", entry.response_body));
    });
    if (selectedTask) await showTask();
    say("");
  } catch (error) {
    say(error.message);
  }
}

async function showTask() {
  const detail = $("#task-detail");
  try {
    const task = await call("GET", `/_mock/tasks/${encodeURIComponent(selectedTask)}`);
    detail.textContent = JSON.stringify(task, null, 2);
    detail.hidden = false;
    const players = $("#task-media");
    const sources = [...new Set(mediaLinks(task.poll))];
    if (players.dataset.shown !== sources.join(" ")) {  // rebuilt only when the links change (playback goes on)
      players.dataset.shown = sources.join(" ");
      players.replaceChildren(...sources.map((src) => {
        const audio = document.createElement("audio");
        audio.controls = true;
        audio.preload = "none";
        audio.src = src;
        audio.title = src;
        return audio;
      }));
    }
  } catch (error) {
    detail.textContent = error.message;
  }
}

for (const button of document.querySelectorAll("[data-advance]")) {
  button.addEventListener("click", async () => {
    try {
      await call("POST", "/_mock/clock/advance", { seconds: Number(button.dataset.advance) });
      await refresh();
    } catch (error) { say(error.message); }
  });
}

let catalog = [];

async function loadCatalog() {
  const [errors, spec] = await Promise.all([call("GET", "/_mock/errors"), call("GET", "/openapi.json")]);
  catalog = errors.errors;
  const operations = [];
  for (const item of Object.values(spec.paths)) for (const op of Object.values(item)) if (op.operationId) operations.push(op.operationId);
  operations.sort();
  $("#fault-operation").replaceChildren(...operations.map((name) => new Option(name, name)));
  $("#fault-operation").addEventListener("change", fillErrors);
  await fillErrors();
  fill("#errors", catalog, (row, error) => {
    for (const value of [error.id, error.status, error.message, error.operations.join(", ") || "(every operation)"]) cell(row, value);
    const force = document.createElement("button");
    force.textContent = "force on next call";
    force.addEventListener("click", async () => {
      const operation = error.operations[0] || $("#fault-operation").value;
      try {
        await call("POST", "/_mock/faults", { operation, error: error.id, times: 1 });
        say(`next ${operation} answers ${error.id}`);
        await refresh();
      } catch (failure) { say(failure.message); }
    });
    cell(row, force);
  });
}

async function fillErrors() {
  // the server says which errors the operation can answer (the same rule its fault rules apply)
  const operation = $("#fault-operation").value;
  try {
    const fitting = await call("GET", `/_mock/errors?operation=${encodeURIComponent(operation)}`);
    $("#fault-error").replaceChildren(...fitting.errors.map((e) => new Option(`${e.id} (${e.status})`, e.id)));
  } catch (error) { say(error.message); }
}

$("#fault-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await call("POST", "/_mock/faults", { operation: $("#fault-operation").value, error: $("#fault-error").value, times: Number($("#fault-times").value) });
    await refresh();
  } catch (error) { say(error.message); }
});

$("#faults-clear").addEventListener("click", async () => {
  try { await call("DELETE", "/_mock/faults"); await refresh(); } catch (error) { say(error.message); }
});

loadCatalog().catch((error) => say(error.message));
refresh();
setInterval(refresh, 1000);
