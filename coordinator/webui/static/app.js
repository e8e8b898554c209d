// Arbiter status page. Polls api/status and api/transactions every second.
// Every string from the server reaches the DOM through textContent or
// setAttribute, never parsed as markup.
"use strict";

const POLL_MS = 1000;
const SVG_NS = "http://www.w3.org/2000/svg";

// $ returns the element with the given id.
function $(id) { return document.getElementById(id); }

// el builds an element whose children are nodes or text.
function el(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

// setText sets an element's text.
function setText(id, v) { $(id).textContent = String(v); }

// fillTable replaces a table body with one row per item.
function fillTable(id, items, row, empty) {
  const body = $(id).tBodies[0];
  const rows = items.map(row);
  if (rows.length === 0) {
    const td = el("td", "empty", empty);
    td.colSpan = $(id).tHead.rows[0].cells.length;
    rows.push(el("tr", "", td));
  }
  body.replaceChildren(...rows);
}

// dur formats milliseconds as "850ms", "12.3s", "4m10s" or "2h5m".
function dur(ms) {
  const a = Math.abs(ms);
  if (a < 1000) return a + "ms";
  if (a < 60000) return (a / 1000).toFixed(1) + "s";
  const m = Math.floor(a / 60000), s = Math.floor((a % 60000) / 1000);
  if (m < 60) return m + "m" + s + "s";
  return Math.floor(m / 60) + "h" + (m % 60) + "m";
}

// deadline describes a transaction's deadline relative to now.
function deadline(tx) {
  return tx.overdue_ms > 0 ? dur(tx.overdue_ms) + " ago" : "in " + dur(tx.overdue_ms);
}

// stateCell shows the table state with the category as a badge.
function stateCell(tx) {
  return el("td", "", el("span", "badge " + tx.category, tx.state), " ", el("small", "", tx.category));
}

// txRow renders one transaction; when overdue, the third column is the overdue time.
function txRow(tx) {
  const when = tx.category === "in-doubt" ? dur(tx.overdue_ms) : deadline(tx);
  return el("tr", "",
    el("td", "mono", tx.tx_id), stateCell(tx), el("td", "", when),
    el("td", "mono", (tx.participants || []).join(", ")),
    el("td", "", tx.decided_index ? tx.decided_index : "undecided"),
    el("td", "mono", tx.client_id || ""));
}

// renderStatus fills the cluster cards, members, participants and sparkline.
function renderStatus(s) {
  setText("node-id", s.node_id);
  const badge = $("node-state");
  badge.textContent = s.state;
  badge.className = "badge " + (s.state || "").toLowerCase();
  setText("leader", s.leader_id || "none");
  setText("term", s.term);
  setText("commit-index", s.commit_index);
  setText("applied-index", s.applied_index);
  setText("active", s.active);
  setText("unfinished", s.unfinished);
  setText("log-stats", s.log_writes + " log writes, " + s.log_entries + " entries since start.");
  fillTable("members", s.members, (m) => el("tr", m.leader ? "leader" : "",
    el("td", "mono", m.id), el("td", "mono", m.raft_address), el("td", "mono", m.grpc_address || "?"),
    el("td", "", m.leader ? "leader" : "follower")), "no members known");
  fillTable("participants", s.participants, (p) => el("tr", "",
    el("td", "mono", p.id), el("td", "mono", p.address)), "none registered");
  renderSpark(s.throughput || []);
}

// renderSpark draws the throughput samples as an SVG polyline.
function renderSpark(rates) {
  const svg = $("spark");
  const vals = rates.map((r) => r.applied_per_sec);
  const max = Math.max(1, ...vals);
  const step = 600 / Math.max(1, vals.length - 1);
  const y = (v) => (58 - (v / max) * 54).toFixed(1);
  const pts = vals.map((v, i) => (i * step).toFixed(1) + "," + y(v));
  if (vals.length === 1) pts.push("600," + y(vals[0]));
  const line = document.createElementNS(SVG_NS, "polyline");
  line.setAttribute("points", pts.join(" "));
  svg.replaceChildren(line);
  setText("rate", vals.length ? vals[vals.length - 1].toFixed(1) + "/s (max " + max.toFixed(0) + ")" : "collecting");
}

// renderTxs fills the in-doubt and open tables.
function renderTxs(t) {
  setText("doubt-count", t.in_doubt.length);
  setText("open-count", t.transactions.length);
  document.body.classList.toggle("has-doubt", t.in_doubt.length > 0);
  fillTable("in-doubt", t.in_doubt, txRow, "nothing in doubt");
  fillTable("open", t.transactions, txRow, "no open transactions");
}

// getJSON fetches a path and throws with the server's error message.
async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json();
  if (!r.ok) throw new Error(path + ": " + (body.error || r.status));
  return body;
}

// poll refreshes everything once, then schedules itself.
async function poll() {
  const err = $("error");
  try {
    const [s, t] = await Promise.all([getJSON("api/status"), getJSON("api/transactions")]);
    renderStatus(s);
    renderTxs(t);
    err.hidden = true;
    setText("updated", "updated " + new Date(s.now_unix_ms).toLocaleTimeString());
  } catch (e) {
    err.textContent = "Cannot reach this node: " + e.message;
    err.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

poll();
