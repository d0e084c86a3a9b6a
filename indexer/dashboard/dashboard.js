// Minuto dashboard: one address's earnings (chart per token), sessions as tutor and as
// student, and learning progress, read from the indexer's JSON API on the same origin.
// Plain script, no build step; uPlot (vendor/) draws the charts. Every value is written
// with textContent, never parsed as HTML.
//
// URL parameters: address (required), period (day|week|month, the earnings buckets),
// limit (sessions per page), tutorCursor / studentCursor (the API's `next`, set by the
// "Older sessions" links). Unknown values go to the API, whose error is shown.
//
// For tests and tools: <body data-state> ends as "ready" or "error"; each chart's
// <figure data-plotted> holds the series uPlot drew ({"x": [...], "net": [...]}), set by
// its draw hook.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const address = (params.get("address") || "").trim();
  const period = params.get("period");
  const limit = params.get("limit");
  const tutorCursor = params.get("tutorCursor");
  const studentCursor = params.get("studentCursor");

  const REASONS = {
    funds_exhausted: "ran out of funds",
    student_stopped: "the student stopped it",
    tutor_stopped: "the tutor stopped it",
    relayer_detected_disconnect: "disconnect detected",
    stopped_by_other: "stopped by another account",
    cancelled: "cancelled before it started",
  };

  /** A refusal or failure of the API, worded for the reader. */
  class ApiError extends Error {}

  async function api(path) {
    let r;
    try {
      r = await fetch(path, { headers: { accept: "application/json" } });
    } catch (e) {
      throw new ApiError(`Cannot reach the indexer (${path}): ${e.message}`);
    }
    let body = null;
    try {
      body = await r.json();
    } catch {
      // Not JSON: said below.
    }
    if (!r.ok) {
      if (body && typeof body.error === "string") {
        throw new ApiError(`The indexer answered ${r.status} ${body.error}: ${body.message}`);
      }
      throw new ApiError(`The indexer answered ${r.status} to ${path}`);
    }
    if (body === null) throw new ApiError(`The indexer's answer to ${path} is not JSON`);
    return body;
  }

  // ---- formatting (deterministic: no locale, UTC) ----

  const DASH = "—";
  const group = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const amount = (s) => (s == null ? DASH : group(s));
  function time(ts) {
    if (ts == null) return DASH;
    const iso = new Date(ts * 1000).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  }
  function duration(seconds) {
    if (seconds == null) return DASH;
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  }
  const days = (n) => `${n} ${n === 1 ? "day" : "days"}`;
  function addr(a) {
    const span = document.createElement("span");
    span.className = "addr";
    span.title = a;
    span.textContent = `${a.slice(0, 6)}…${a.slice(-4)}`;
    return span;
  }
  function stopper(s) {
    if (!s.stoppedByRole) return DASH;
    const span = document.createElement("span");
    span.title = s.stoppedBy;
    span.textContent = s.stoppedByRole;
    return span;
  }
  function why(s) {
    if (!s.reason) return DASH;
    const text = REASONS[s.reason] || s.reason;
    return s.detectionSeconds == null ? text : `${text} (stop mined ${s.detectionSeconds} s after)`;
  }

  /** Replaces a table's body with rows of cells (strings or nodes). */
  function fill(table, rows) {
    const trs = rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const c of cells) {
        const td = document.createElement("td");
        td.append(c);
        tr.append(td);
      }
      return tr;
    });
    table.tBodies[0].replaceChildren(...trs);
  }

  function sessionRow(s, as) {
    const other = as === "tutor" ? s.student : s.tutor;
    const cells = [s.id, addr(other), addr(s.token), s.state, time(s.startedAt), duration(s.durationSeconds), amount(s.billed)];
    if (as === "tutor") {
      const net = s.billed == null || s.fee == null ? null : (BigInt(s.billed) - BigInt(s.fee)).toString();
      cells.push(amount(s.fee), amount(net));
    } else {
      cells.push(amount(s.refund));
    }
    cells.push(stopper(s), why(s));
    return cells;
  }

  /** "Newest" and "Older sessions" links keeping every other parameter. */
  function pages(nav, key, cursor, next) {
    const link = (text, value) => {
      const q = new URLSearchParams(location.search);
      if (value == null) q.delete(key);
      else q.set(key, value);
      const a = document.createElement("a");
      a.href = `?${q}`;
      a.textContent = text;
      a.className = value == null ? "newest" : "older";
      return a;
    };
    const links = [];
    if (cursor) links.push(link("Newest sessions", null));
    if (next != null) links.push(link("Older sessions", next));
    nav.replaceChildren(...links);
  }

  // ---- earnings chart ----

  /** Unix seconds of a period's first instant: "2026-12-06" (a day, or a week by its Monday) or "2026-12". */
  function periodStart(name) {
    const [y, m, d] = name.split("-").map(Number);
    return Date.UTC(y, m - 1, d || 1) / 1000;
  }
  function periodName(ts, kind) {
    const iso = new Date(ts * 1000).toISOString();
    return kind === "month" ? iso.slice(0, 7) : iso.slice(0, 10);
  }
  function nextPeriod(ts, kind) {
    if (kind === "month") {
      const d = new Date(ts * 1000);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
    }
    return ts + (kind === "week" ? 7 : 1) * 86400;
  }

  /** One chart per token: net earnings per period, every period from the first to the last with earnings (zero where none ended). */
  function charts(earn) {
    const box = $("charts");
    box.replaceChildren();
    const note = $("chart-note");
    note.hidden = earn.next == null;
    const shown = new Set(earn.buckets.map((b) => b.period)).size;
    note.textContent = earn.next == null ? "" : `Only the newest ${shown} ${earn.period}s with earnings are charted.`;
    if (earn.buckets.length === 0) return;
    const starts = earn.buckets.map((b) => periodStart(b.period));
    const xs = [];
    for (let t = Math.min(...starts); t <= Math.max(...starts); t = nextPeriod(t, earn.period)) xs.push(t);
    for (const { token } of earn.totals) {
      const mine = new Map(earn.buckets.filter((b) => b.token === token).map((b) => [b.period, b]));
      if (mine.size === 0) continue;
      const rows = xs.map((x) => {
        const name = periodName(x, earn.period);
        return mine.get(name) || { period: name, sessions: 0, gross: "0", fee: "0", net: "0", withdrawn: "0" };
      });
      const fig = document.createElement("figure");
      fig.className = "chart";
      fig.dataset.token = token;
      const cap = document.createElement("figcaption");
      cap.append(`Net earnings per ${earn.period}, token `, addr(token));
      const plot = document.createElement("div");
      plot.className = "plot";
      const table = document.createElement("table");
      table.className = "chart-data";
      table.createTHead().innerHTML = "<tr><th>Period</th><th>Sessions</th><th>Gross</th><th>Fee</th><th>Net</th><th>Withdrawn</th></tr>";
      table.createTBody();
      fill(table, rows.map((r) => [r.period, String(r.sessions), amount(r.gross), amount(r.fee), amount(r.net), amount(r.withdrawn)]));
      fig.append(cap, plot, table);
      box.append(fig);
      try {
        draw(fig, plot, xs, rows.map((r) => Number(r.net)), earn.period);
      } catch (e) {
        const p = document.createElement("p");
        p.className = "chart-error";
        p.textContent = `The chart could not be drawn: ${e.message}`;
        plot.replaceWith(p);
      }
    }
  }

  /** Draws the bars with uPlot: one per period, labelled by the periods' names (at most 12 labels). */
  function draw(fig, el, xs, net, kind) {
    if (typeof uPlot !== "function") throw new Error("the chart library did not load");
    const half = ((kind === "month" ? 30 : kind === "week" ? 7 : 1) * 86400) / 2;
    const every = Math.ceil(xs.length / 12);
    const opts = {
      width: Math.max(320, el.clientWidth || 640),
      height: 240,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, range: () => [xs[0] - half, xs[xs.length - 1] + half] },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { splits: () => xs.filter((_, i) => i % every === 0), values: (u, splits) => splits.map((x) => periodName(x, kind)) },
        { size: 90, values: (u, splits) => splits.map((v) => group(String(Math.round(v)))) },
      ],
      series: [
        {},
        {
          label: "net",
          stroke: "#1f6f5c",
          fill: "rgba(31, 111, 92, 0.35)",
          paths: uPlot.paths.bars({ size: [0.6, 64] }),
          points: { show: false },
        },
      ],
      hooks: {
        draw: [
          (u) => {
            fig.dataset.plotted = JSON.stringify({ x: u.data[0], net: u.data[1] });
          },
        ],
      },
    };
    return new uPlot(opts, [xs, net], el);
  }

  // ---- the page ----

  function progress(p) {
    $("progress-sessions").textContent = String(p.total.sessions);
    $("progress-time").textContent = duration(p.total.seconds);
    $("progress-current").textContent = days(p.streaks.current);
    $("progress-longest").textContent = days(p.streaks.longest);
    $("progress-days").textContent = String(p.streaks.activeDays);
    fill($("progress-spend"), p.spend.map((s) => [addr(s.token), amount(s.billed)]));
    fill($("progress-tutors"), Object.entries(p.byTutor).map(([t, v]) => [addr(t), String(v.sessions), duration(v.seconds)]));
    fill($("progress-kinds"), Object.entries(p.byCredentialKind).map(([k, v]) => [k, String(v.sessions), duration(v.seconds)]));
  }

  async function load() {
    const who = encodeURIComponent(address);
    const list = (role, cursor) => {
      const q = new URLSearchParams({ role });
      if (limit != null) q.set("limit", limit);
      if (cursor) q.set("cursor", cursor);
      return api(`v1/accounts/${who}/sessions?${q}`);
    };
    const eq = new URLSearchParams({ limit: "200" });
    if (period != null) eq.set("period", period);
    const [earn, taught, learnt, prog] = await Promise.all([
      api(`v1/tutors/${who}/earnings?${eq}`),
      list("tutor", tutorCursor),
      list("student", studentCursor),
      api(`v1/students/${who}/progress`),
    ]);

    const tutorEmpty = earn.totals.length === 0 && taught.items.length === 0 && !tutorCursor;
    $("tutor-empty").hidden = !tutorEmpty;
    $("tutor-body").hidden = tutorEmpty;
    fill($("earnings-totals"), earn.totals.map((t) => [addr(t.token), String(t.sessions), amount(t.gross), amount(t.fee), amount(t.net), amount(t.withdrawn), amount(t.claimable)]));
    fill($("tutor-sessions"), taught.items.map((s) => sessionRow(s, "tutor")));
    pages($("tutor-pages"), "tutorCursor", tutorCursor, taught.next);

    const studentEmpty = prog.total.sessions === 0 && learnt.items.length === 0 && !studentCursor;
    $("student-empty").hidden = !studentEmpty;
    $("student-body").hidden = studentEmpty;
    progress(prog);
    fill($("student-sessions"), learnt.items.map((s) => sessionRow(s, "student")));
    pages($("student-pages"), "studentCursor", studentCursor, learnt.next);

    $("status").textContent = `Account ${earn.tutor}, earnings by ${earn.period}`;
    $("results").hidden = false;
    if (!tutorEmpty) charts(earn);
  }

  $("address").value = address;
  if (["day", "week", "month"].includes(period)) $("period").value = period;
  if (!address) return;
  document.body.dataset.state = "loading";
  $("status").textContent = `Loading ${address}…`;
  load().then(
    () => {
      document.body.dataset.state = "ready";
    },
    (e) => {
      $("results").hidden = true;
      $("status").textContent = `Nothing to show for ${address}.`;
      const err = $("error");
      err.textContent = e instanceof ApiError ? e.message : `The page failed: ${e.message}`;
      err.hidden = false;
      document.body.dataset.state = "error";
    },
  );
})();
