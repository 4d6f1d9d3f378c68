// RecSys Stream live dashboard: reads /v1/live/* with the caller's credentials and draws
// plain SVG charts. The stream is Server-Sent Events read through fetch(), because
// EventSource cannot send the X-API-Key / X-Org-Id headers the API authenticates with.
// Every value from the server is inserted as text (textContent), never as markup.
"use strict";

(() => {
  const MAX_SNAPSHOTS = 300; // ~5 minutes at one snapshot per second
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];
  const SVG = "http://www.w3.org/2000/svg";
  const STORE = "recsys.live.credentials";
  const count = new Intl.NumberFormat("en-US");

  const state = {
    creds: {},
    retryMs: 3000,
    snapshots: [],              // [{t, totals}] distinct as_of_ms, oldest first
    experiments: new Map(),     // id -> {doc, history: [{t, variants: {v: {ctr, lo, hi}}}], node}
  };

  // ---- small helpers -------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function svgEl(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  const pct = (v, digits = 1) => (isNum(v) ? (v * 100).toFixed(digits) + "%" : "–");
  const num = (v) => (isNum(v) ? count.format(v) : "–");
  const ms = (v) => (isNum(v) ? v.toFixed(0) + " ms" : "–");
  const pval = (v) => (isNum(v) ? (v < 0.0001 ? "<0.0001" : v.toFixed(4)) : "–");
  const clock = (t) => new Date(t).toISOString().slice(11, 19);

  function setStatus(name, text) {
    const node = document.getElementById("status");
    node.dataset.state = name;
    node.textContent = text;
  }

  // ---- credentials: from the URL fragment (never sent to the server) or the form ------

  function loadCreds() {
    const hash = new URLSearchParams(location.hash.slice(1));
    if (hash.has("key") || hash.has("tenant")) {
      state.creds = { key: hash.get("key") || "", tenant: hash.get("tenant") || "" };
      sessionStorage.setItem(STORE, JSON.stringify(state.creds));
      history.replaceState(null, "", location.pathname + location.search);
    } else {
      try { state.creds = JSON.parse(sessionStorage.getItem(STORE) || "{}"); } catch { state.creds = {}; }
    }
  }

  function headers() {
    const h = { Accept: "application/json" };
    if (state.creds.key) h["X-API-Key"] = state.creds.key;
    if (state.creds.tenant) h["X-Org-Id"] = state.creds.tenant;
    return h;
  }

  function askForCreds(reason) {
    const form = document.getElementById("creds");
    document.getElementById("creds-reason").textContent = reason;
    form.hidden = false;
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const data = new FormData(form);
      state.creds = { key: data.get("key") || "", tenant: data.get("tenant") || "" };
      sessionStorage.setItem(STORE, JSON.stringify(state.creds));
      form.hidden = true;
      start();
    };
  }

  class AuthError extends Error {}

  async function getJSON(path) {
    const r = await fetch(path, { headers: headers(), cache: "no-store" });
    if (r.status === 401 || r.status === 403) {
      const p = await r.json().catch(() => ({}));
      throw new AuthError(p.detail || r.statusText);
    }
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  }

  // ---- charts ----------------------------------------------------------------------------

  // the smallest 1, 2, 2.5 or 5 times a power of ten that is ≥ v, so grid lines are round
  function niceCeil(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v);
  }

  // series: [{name, color, points: [[x, y]...], band: [[x, lo, hi]...]?}]
  function lineChart(svg, series, opts = {}) {
    const [W, H] = [640, 230];
    const pad = { l: 52, r: 12, t: 24, b: 24 };
    svg.replaceChildren();
    const xs = [], ys = [];
    for (const s of series) {
      for (const [x, y] of s.points) { xs.push(x); ys.push(y); }
      for (const [x, lo, hi] of s.band || []) { xs.push(x); ys.push(lo, hi); }
    }
    const drawn = series.reduce((n, s) => n + s.points.length, 0);
    svg.dataset.points = String(drawn);
    if (!drawn) {
      svg.append(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "nodata" },
        opts.empty || "waiting for data…"));
      return;
    }
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    if (x0 === x1) { x0 -= 1000; x1 += 1000; }
    const y0 = opts.yMin ?? Math.min(0, ...ys);
    let y1 = opts.yMax ?? niceCeil(Math.max(...ys) * 1.05);
    if (y1 <= y0) y1 = y0 + 1;
    const sx = (x) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
    const sy = (y) => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
    const fmt = opts.format || ((v) => v.toFixed(2));
    for (let i = 0; i <= 4; i++) {
      const v = y0 + ((y1 - y0) * i) / 4;
      svg.append(svgEl("line", { class: "grid", x1: pad.l, x2: W - pad.r, y1: sy(v), y2: sy(v) }));
      svg.append(svgEl("text", { x: pad.l - 6, y: sy(v) + 4, "text-anchor": "end" }, fmt(v)));
    }
    svg.append(svgEl("text", { x: pad.l, y: H - 6 }, clock(x0)));
    svg.append(svgEl("text", { x: W - pad.r, y: H - 6, "text-anchor": "end" }, clock(x1)));
    let lx = pad.l;
    series.forEach((s) => {
      const band = s.band || [];
      if (band.length > 1) {
        const upper = band.map(([x, , hi]) => `${sx(x)},${sy(hi)}`);
        const lower = band.map(([x, lo]) => `${sx(x)},${sy(lo)}`).reverse();
        svg.append(svgEl("polygon", { class: "band", fill: s.color, points: upper.concat(lower).join(" ") }));
      } else if (band.length === 1) {
        const [x, lo, hi] = band[0];
        svg.append(svgEl("rect", { class: "band", fill: s.color, x: sx(x) - 4, width: 8,
          y: sy(hi), height: Math.max(1, sy(lo) - sy(hi)) }));
      }
      if (s.points.length > 1) {
        svg.append(svgEl("polyline", { class: "line", stroke: s.color,
          points: s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ") }));
      }
      const [lastX, lastY] = s.points[s.points.length - 1] || [];
      if (lastX !== undefined) {
        svg.append(svgEl("circle", { cx: sx(lastX), cy: sy(lastY), r: 3, fill: s.color }));
      }
      svg.append(svgEl("rect", { x: lx, y: 6, width: 10, height: 10, fill: s.color }));
      const label = svgEl("text", { class: "legend", x: lx + 14, y: 15 },
        lastY === undefined ? s.name : `${s.name} ${fmt(lastY)}`);
      svg.append(label);
      lx += 28 + 7 * label.textContent.length;
    });
  }

  // ---- overview ----------------------------------------------------------------------------

  function onOverview(doc) {
    if (!isNum(doc.as_of_ms)) return;
    const snap = { t: doc.as_of_ms, totals: doc.totals || {} };
    const last = state.snapshots[state.snapshots.length - 1];
    if (last && last.t === snap.t) state.snapshots[state.snapshots.length - 1] = snap;
    else if (!last || snap.t > last.t) state.snapshots.push(snap);
    if (state.snapshots.length > MAX_SNAPSHOTS) state.snapshots.shift();

    document.getElementById("as-of").textContent = "as of " + new Date(doc.as_of_ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
    for (const node of document.querySelectorAll("[data-total]")) {
      const v = (doc.totals || {})[node.dataset.total];
      node.textContent = node.dataset.total.endsWith("rate") ? pct(v) : num(v);
    }
    const tenants = [...new Set((doc.namespaces || []).map((n) => n.tenant))];
    if (!state.creds.tenant && tenants.length === 1) document.getElementById("tenant").textContent = `tenant ${tenants[0]}`;
    for (const node of document.querySelectorAll("[data-field]")) node.textContent = num(doc[node.dataset.field]);
    document.getElementById("dead-letters-tile").classList.toggle("alert", (doc.dead_letters || 0) > 0);

    const body = document.querySelector("#namespaces tbody");
    body.replaceChildren(...(doc.namespaces || []).map((n) => el("tr", {},
      el("td", {}, n.tenant ?? ""), el("td", { class: "text" }, n.surface ?? ""),
      el("td", {}, num(n.exposures)), el("td", {}, num(n.outcomes)),
      el("td", {}, pct(n.exposure_join_rate)), el("td", {}, pct(n.outcome_join_rate)),
      el("td", {}, pct(n.empty_list_rate)), el("td", {}, pct(n.error_rate, 2)),
      el("td", {}, ms(n.latency_p95_ms)))));
    drawOverviewCharts();
  }

  function drawOverviewCharts() {
    const snaps = state.snapshots;
    const series = (key) => snaps.filter((s) => isNum(s.totals[key])).map((s) => [s.t, s.totals[key]]);
    lineChart(document.getElementById("chart-join"), [
      { name: "exposure join", color: COLORS[0], points: series("exposure_join_rate") },
      { name: "outcome join", color: COLORS[1], points: series("outcome_join_rate") },
    ], { yMin: 0, yMax: 1, format: (v) => pct(v, 0) });
    const rate = (key) => {
      const out = [];
      for (let i = 1; i < snaps.length; i++) {
        const [a, b] = [snaps[i - 1], snaps[i]];
        const dn = b.totals[key] - a.totals[key];
        if (isNum(dn) && dn >= 0) out.push([b.t, dn / ((b.t - a.t) / 1000)]);
      }
      return out;
    };
    lineChart(document.getElementById("chart-throughput"), [
      { name: "exposures/s", color: COLORS[0], points: rate("exposures") },
      { name: "outcomes/s", color: COLORS[2], points: rate("outcomes") },
    ], { yMin: 0, format: (v) => v.toFixed(1), empty: "needs two snapshots…" });
  }

  // ---- experiments ---------------------------------------------------------------------------

  function table(head, rows) {
    return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", {}, c)))))));
  }

  const mark = (ok, text) => el("span", { class: ok === false ? "fail" : "pass" }, `${text} ${ok === false ? "✗" : "✓"}`);

  function onExperiment(doc) {
    const id = doc.experiment_id;
    if (typeof id !== "string") return;
    let entry = state.experiments.get(id);
    if (!entry) {
      const svg = svgEl("svg", { class: "chart ctr", viewBox: "0 0 640 230", "data-points": "0",
        "data-experiment": id, role: "img", "aria-label": `per-request CTR of ${id} by variant` });
      const node = el("article", { class: "experiment", "data-experiment": id });
      entry = { doc, history: [], node, svg };
      state.experiments.set(id, entry);
      document.getElementById("no-experiments").hidden = true;
      document.getElementById("experiments").append(node);
    }
    entry.doc = doc;
    const t = isNum(doc.as_of_ms) ? doc.as_of_ms : Date.now();
    const point = { t, variants: {} };
    for (const v of doc.variants || []) {
      const ci = Array.isArray(v.per_request_ctr_ci) ? v.per_request_ctr_ci : [];
      point.variants[v.variant] = { ctr: v.per_request_ctr ?? v.ctr, lo: ci[0], hi: ci[1] };
    }
    const last = entry.history[entry.history.length - 1];
    if (last && last.t === t) entry.history[entry.history.length - 1] = point;
    else if (!last || t > last.t) entry.history.push(point);
    if (entry.history.length > MAX_SNAPSHOTS) entry.history.shift();
    renderExperiment(entry);
  }

  function renderExperiment(entry) {
    const { doc, node, svg } = entry;
    const srm = doc.srm || {};
    const srmN = (srm.global || {}).sample_size;
    const srmFew = typeof srmN === "number" && typeof srm.min_sample === "number" && srmN < srm.min_sample;
    const srmBadge = srmFew
      ? el("span", { class: "badge", "data-srm": "n/a" }, `SRM n/a (${srmN} of ${srm.min_sample} assignments)`)
      : el("span", { class: "badge " + (srm.alarm ? "bad" : "ok"), "data-srm": srm.alarm ? "alarm" : "ok" },
        srm.alarm ? `SRM alarm p=${pval(srm.p_value)}` : `SRM ok p=${pval(srm.p_value)}`);
    const guards = (doc.guardrails || {}).per_variant || [];
    const failing = guards.filter((g) => g.pass_empty_rate === false || g.pass_error_rate === false || g.pass_latency === false);
    const guardBadge = el("span", { class: "badge " + (failing.length ? "bad" : "ok"), "data-guardrails": failing.length ? "fail" : "pass" },
      failing.length ? `guardrails failing: ${failing.map((g) => g.variant).join(", ")}` : "guardrails pass");

    const names = (doc.variants || []).map((v) => v.variant);
    const series = names.map((name, i) => ({
      name,
      color: COLORS[i % COLORS.length],
      points: entry.history.filter((h) => isNum(h.variants[name]?.ctr)).map((h) => [h.t, h.variants[name].ctr]),
      band: entry.history.filter((h) => isNum(h.variants[name]?.lo) && isNum(h.variants[name]?.hi))
        .map((h) => [h.t, h.variants[name].lo, h.variants[name].hi]),
    }));
    lineChart(svg, series, { yMin: 0, format: (v) => pct(v, 1) });

    const observed = srm.observed || {}, share = srm.expected_share || {};
    const seen = Object.values(observed).reduce((a, b) => a + (isNum(b) ? b : 0), 0);
    const variants = table(["variant", "exposures", "clicks", "conv.", "revenue", "CTR/request [95% CI]", "share (exp.)"],
      (doc.variants || []).map((v) => {
        const ci = Array.isArray(v.per_request_ctr_ci) ? v.per_request_ctr_ci : [];
        return [v.variant, num(v.exposures), num(v.clicks), num(v.conversions),
          isNum(v.revenue) ? v.revenue.toFixed(2) : "–",
          `${pct(v.per_request_ctr, 2)} [${pct(ci[0], 2)}, ${pct(ci[1], 2)}]`,
          `${seen ? pct(observed[v.variant] / seen, 1) : "–"} (${pct(share[v.variant], 0)})`];
      }));
    const guardTable = table(["variant", "empty rate", "error rate", "p95 latency"],
      guards.map((g) => [g.variant, mark(g.pass_empty_rate, pct(g.empty_rate, 2)),
        mark(g.pass_error_rate, pct(g.error_rate, 2)), mark(g.pass_latency, ms(g.latency_p95_ms))]));
    const sig = table(["metric", "variant", "segment", "p", "adjusted p", "correction", ""],
      (doc.significance || []).map((s) => [s.metric + (s.primary ? " (primary)" : ""), s.variant, s.segment ?? "all",
        pval(s.p_value), pval(s.adjusted_p_value), s.correction ?? "",
        s.significant ? el("span", { class: "sig" }, "significant") : el("span", { class: "note" }, "–")]));

    node.replaceChildren(
      el("header", {}, el("h3", {}, doc.experiment_id), srmBadge, guardBadge),
      el("figure", {}, el("figcaption", {}, "Per-request CTR by variant, 95% CI band"), svg),
      el("div", { class: "tables" }, variants, guardTable, sig));
  }

  // ---- the stream ----------------------------------------------------------------------------

  function handleFrame(frame) {
    let event = "message";
    const data = [];
    for (const raw of frame.split("\n")) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (!line || line.startsWith(":")) continue; // comment: heartbeat
      const c = line.indexOf(":");
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? "" : line.slice(c + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) state.retryMs = Number(value);
    }
    if (!data.length) return;
    const doc = JSON.parse(data.join("\n"));
    if (event === "overview") onOverview(doc);
    else if (event === "experiment") onExperiment(doc);
  }

  async function stream() {
    for (;;) {
      let ended = false; // the server closed the stream (max age, shutdown): just reconnect
      try {
        const r = await fetch("v1/live/stream", { headers: { ...headers(), Accept: "text/event-stream" }, cache: "no-store" });
        if (r.status === 401 || r.status === 403) throw new AuthError((await r.json().catch(() => ({}))).detail || r.statusText);
        if (!r.ok || !r.body) throw new Error(`stream: HTTP ${r.status}`);
        setStatus("live", "live");
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) { ended = true; break; }
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            handleFrame(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (err) {
        if (err instanceof AuthError) {
          setStatus("error", "not authorised");
          askForCreds(`The live API refused these credentials: ${err.message}`);
          return;
        }
      }
      if (!ended) setStatus("reconnecting", "reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, state.retryMs));
    }
  }

  // First paint from plain GETs, so the page shows data even before the stream's first
  // event (and under headless virtual time); then follow the stream.
  async function start() {
    const tenant = document.getElementById("tenant");
    tenant.textContent = state.creds.tenant ? `tenant ${state.creds.tenant}` : "";
    setStatus("connecting", "connecting…");
    try {
      const overview = await getJSON("v1/live/overview");
      onOverview(overview);
      const docs = await Promise.all((overview.experiments || []).map(
        (id) => getJSON("v1/live/experiments/" + encodeURIComponent(id)).catch(() => null)));
      for (const doc of docs) if (doc) onExperiment(doc);
    } catch (err) {
      if (err instanceof AuthError) {
        setStatus("error", "not authorised");
        askForCreds(`The live API refused these credentials: ${err.message}`);
        return;
      }
      setStatus("reconnecting", "live API unavailable, retrying…");
    }
    stream();
  }

  loadCreds();
  drawOverviewCharts();
  if (!state.creds.key && !state.creds.tenant) {
    askForCreds("Enter an API key (or, in open mode, a tenant) to read this tenant's live metrics.");
  } else {
    start();
  }
})();
