// The Sluice dashboard: live numbers from the event stream (/api/v1/live, one event per
// second), charts of the last five minutes (uPlot), log topics, consumer groups and clients
// from the JSON admin API (docs/operations.md). No framework, no build step.
"use strict";

const WINDOW = 300; // seconds of history in the charts
const series = { t: [], in: [], out: [], conn: [] };
let ratesChart = null, connChart = null;

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString("en-US");
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}
function duration(ms) {
  if (ms < 0) return "forever";
  const s = ms / 1000;
  if (s >= 86400) return (s / 86400).toFixed(s % 86400 ? 1 : 0) + " d";
  if (s >= 3600) return (s / 3600).toFixed(1) + " h";
  return s + " s";
}
async function api(path, options) {
  const r = await fetch(path, options);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }

function makeChart(el, labels, colors) {
  const opts = {
    width: Math.max(360, el.clientWidth || 480), height: 200,
    series: [{}].concat(labels.map((l, i) => ({ label: l, stroke: colors[i], width: 2 }))),
    axes: [{}, { size: 60 }],
  };
  return new uPlot(opts, [[]].concat(labels.map(() => [])), el);
}

function onLive(ev) {
  const d = JSON.parse(ev.data);
  $("version").textContent = "version " + d.version;
  $("uptime").textContent = "up " + d.uptime_seconds + " s";
  const ready = $("ready");
  ready.textContent = d.ready ? "ready" : "starting";
  ready.classList.toggle("ok", !!d.ready);
  $("stat-connections").textContent = fmt(d.connections);
  $("stat-sessions-online").textContent = fmt(d.sessions_online);
  $("stat-sessions-offline").textContent = fmt(d.sessions_offline);
  $("stat-subscriptions").textContent = fmt(d.subscriptions);
  $("stat-retained").textContent = fmt(d.retained);
  $("stat-in-rate").textContent = fmt(d.messages_in_per_second);
  $("stat-out-rate").textContent = fmt(d.messages_out_per_second);
  $("stat-bytes-rate").textContent = bytes(d.bytes_in_per_second) + " / " + bytes(d.bytes_out_per_second);
  series.t.push(d.time_ms / 1000);
  series.in.push(d.messages_in_per_second);
  series.out.push(d.messages_out_per_second);
  series.conn.push(d.connections);
  for (const k of Object.keys(series)) if (series[k].length > WINDOW) series[k].shift();
  if (window.uPlot) {
    if (!ratesChart) ratesChart = makeChart($("chart-rates"), ["in / s", "out / s"], ["#2b6cb0", "#2e8b57"]);
    if (!connChart) connChart = makeChart($("chart-connections"), ["connections"], ["#b7791f"]);
    ratesChart.setData([series.t, series.in, series.out]);
    connChart.setData([series.t, series.conn]);
  }
  document.body.dataset.live = String(Number(document.body.dataset.live || 0) + 1);
}

async function loadTopics() {
  const { topics } = await api("/api/v1/topics");
  const body = $("topics").tBodies[0];
  const rows = [];
  for (const t of topics) {
    const detail = await api("/api/v1/topics/" + encodeURIComponent(t.name));
    for (const p of detail.partitions) {
      const tr = document.createElement("tr");
      tr.dataset.topic = t.name;
      tr.dataset.partition = p.partition;
      cell(tr, p.partition === 0 ? t.name : "");
      cell(tr, p.partition);
      cell(tr, fmt(p.start_offset));
      cell(tr, fmt(p.end_offset)).className = "end-offset";
      cell(tr, bytes(p.size_bytes));
      cell(tr, p.segment_count);
      cell(tr, detail.config ? detail.config.durability : "");
      cell(tr, detail.config ? duration(detail.config.retention_ms) : "");
      rows.push(tr);
    }
  }
  body.replaceChildren(...rows);
  document.body.dataset.topics = String(topics.length);
}

async function loadGroups() {
  const el = $("groups");
  try {
    const { groups } = await api("/api/v1/groups");
    if (!groups.length) { el.textContent = "no consumer groups"; return; }
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>Group</th><th>State</th><th>Members</th><th>Lag</th></tr></thead>";
    const tb = document.createElement("tbody");
    for (const g of groups) {
      const tr = document.createElement("tr");
      tr.dataset.group = g.group_id;
      cell(tr, g.group_id); cell(tr, g.state); cell(tr, g.members.length); cell(tr, fmt(g.lag));
      tb.appendChild(tr);
    }
    table.appendChild(tb);
    el.replaceChildren(table);
  } catch (e) {
    el.textContent = "not available: " + e.message;
  }
}

function clientRow(c) {
  const tr = document.createElement("tr");
  tr.dataset.client = c.client_id;
  cell(tr, c.client_id);
  cell(tr, c.connection ? c.connection.listener : "");
  cell(tr, c.connection ? c.connection.protocol_version : "");
  cell(tr, c.subscriptions);
  cell(tr, c.queued_messages);
  cell(tr, c.inflight);
  const b = document.createElement("button");
  b.textContent = "Disconnect";
  b.className = "disconnect";
  b.onclick = () => disconnect(c.client_id);
  cell(tr, "").appendChild(b);
  return tr;
}

async function loadClients() {
  const { clients } = await api("/api/v1/clients?limit=50");
  $("clients").tBodies[0].replaceChildren(...clients.map(clientRow));
  document.body.dataset.clients = String(clients.length);
}

async function disconnect(id) {
  const out = $("client-detail");
  try {
    await api("/api/v1/clients/" + encodeURIComponent(id), { method: "DELETE" });
    out.textContent = "disconnected " + id;
  } catch (e) {
    out.textContent = e.message;
  }
  loadClients();
}

async function lookup(ev) {
  ev.preventDefault();
  const id = $("lookup-id").value.trim();
  const out = $("client-detail");
  if (!id) return;
  try {
    const c = await api("/api/v1/clients/" + encodeURIComponent(id));
    const t = document.createElement("table");
    const tb = document.createElement("tbody");
    tb.appendChild(clientRow(c));
    t.appendChild(tb);
    const subs = document.createElement("div");
    subs.className = "muted";
    subs.textContent = "subscriptions: " + (c.subscription_list.map((s) => s.filter + " (QoS " + s.qos + ")").join(", ") || "none");
    out.replaceChildren(t, subs);
  } catch (e) {
    out.textContent = e.message;
  }
}

function refresh() {
  Promise.all([loadTopics(), loadGroups(), loadClients()])
    .then(() => { document.body.dataset.loaded = "1"; })
    .catch((e) => console.error(e));
}

$("lookup").addEventListener("submit", lookup);
new EventSource("/api/v1/live").onmessage = onLive;
refresh();
setInterval(refresh, 5000);
