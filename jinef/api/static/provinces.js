// Jinef provinces' dashboard: a choropleth of the provinces for any measure, a ranking, and a province's plans with
// their progress charts, over /v1/stats and /v1/plans. Every table downloads as CSV and JSON; every figure links to
// the definition of the query that computed it. The key is the search page's (localStorage), sent as X-API-Key.
"use strict";

(function () {
  const { KEY_STORE, IRAN, fa, $, el } = window.Jinef;
  const DEF = "/v1/stats/definitions#";
  const COLORS = ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"];
  const state = { data: null, measures: {}, layer: null, province: "", charts: [], tables: {} };

  const apiKey = () => localStorage.getItem(KEY_STORE) || "";

  async function api(path, opts) {
    const headers = { "X-API-Key": apiKey(), Accept: "application/json", "Accept-Language": "fa" };
    const r = await fetch(path, { headers, ...(opts || {}) });
    let body = null;
    try { body = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) {
      const err = (body && body.error) || {};
      const why = r.status === 401 ? "کلید دسترسی وارد نشده یا نامعتبر است."
        : r.status === 403 ? "این کلید دامنهٔ stats را ندارد." : "خطای سرور (" + fa(r.status) + ").";
      throw new Error(why + (err.message ? " " + err.message : ""));
    }
    return body;
  }
  function showMessage(text) { $("message").textContent = text || ""; $("message").hidden = !text; }

  function format(key, v) {
    if (v === null || v === undefined) return "—";
    const m = state.measures[key];
    if (m && m.kind === "share") return fa((v * 100).toFixed(1)) + "٪";
    if (typeof v === "number") return fa(Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(1));
    return fa(v);
  }
  const defLink = (key, text) => el("a", { href: DEF + key, target: "_blank", rel: "noopener", class: "def" }, text);

  // -- tables, each downloadable as CSV and JSON ---------------------------------------------------------
  // columns: [{key, title, measure?}] — a measure's header links to its definition.
  function fillTable(id, columns, rows, onRow) {
    const t = $(id);
    t.replaceChildren();
    const head = el("tr");
    for (const c of columns) head.append(el("th", {}, c.title, c.measure ? defLink(c.measure, "؟") : null));
    t.append(el("thead", {}, head));
    const body = el("tbody");
    for (const r of rows) {
      const tr = el("tr", { "data-code": r.code || "" });
      for (const c of columns) {
        const text = c.fmt ? c.fmt(r) : c.measure ? format(c.measure, r[c.key]) : fa(r[c.key] ?? "");
        tr.append(el("td", {}, text));
      }
      if (onRow) tr.addEventListener("click", () => onRow(r));
      body.append(tr);
    }
    t.append(body);
    state.tables[id] = { columns, rows };
  }

  function download(name, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  const csvCell = (v) => {
    let s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = "'" + s;  // never a spreadsheet formula
    return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  for (const box of document.querySelectorAll(".downloads")) {
    const id = box.dataset.table;
    const csv = el("button", { class: "small", type: "button", "data-format": "csv" }, "CSV");
    const json = el("button", { class: "small", type: "button", "data-format": "json" }, "JSON");
    csv.addEventListener("click", () => {
      const t = state.tables[id];
      if (!t) return;
      const lines = [t.columns.map((c) => csvCell(c.key)).join(",")]
        .concat(t.rows.map((r) => t.columns.map((c) => csvCell(r[c.key])).join(",")));
      download(id + ".csv", "\ufeff" + lines.join("\r\n") + "\r\n", "text/csv;charset=utf-8");
    });
    json.addEventListener("click", () => {
      const t = state.tables[id];
      if (t) download(id + ".json", JSON.stringify(t.rows, null, 2), "application/json");
    });
    box.append(csv, json);
  }

  // -- map ------------------------------------------------------------------------------------------------
  const map = L.map("map", { minZoom: 4, maxZoom: 10, zoomSnap: 0.5 });
  map.fitBounds(IRAN);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("مرزها © مشارکت‌کنندگان OpenStreetMap");

  function colour(v, lo, hi) {
    if (v === null || v === undefined) return "#d9d9d9";
    const i = hi > lo ? Math.min(COLORS.length - 1, Math.floor(((v - lo) / (hi - lo)) * COLORS.length)) : 0;
    return COLORS[i];
  }
  function paint() {
    if (!state.layer || !state.data) return;
    const key = $("measure").value;
    const values = Object.fromEntries(state.data.provinces.map((p) => [p.code, p[key]]));
    const nums = Object.values(values).filter((v) => typeof v === "number");
    const lo = Math.min(...nums), hi = Math.max(...nums);
    state.layer.setStyle((f) => ({
      color: f.properties.code === state.province ? "#a4262c" : "#3d4b59",
      weight: f.properties.code === state.province ? 3 : 1, fillOpacity: 0.85,
      fillColor: colour(values[f.properties.code], lo, hi),
    }));
    state.layer.eachLayer((l) => l.setTooltipContent(
      l.feature.properties.name + ": " + format(key, values[l.feature.properties.code])));
    const swatch = (c) => { const i = el("i"); i.style.background = c; return i; };  // CSSOM: the CSP forbids style=""
    $("legend").replaceChildren(state.measures[key].title_fa + " ", swatch(COLORS[0]),
      format(key, nums.length ? lo : null), " … ", swatch(COLORS[COLORS.length - 1]), format(key, nums.length ? hi : null));
    $("measure-definition").href = DEF + key;
  }
  async function loadBasemap() {
    const r = await fetch("/v1/basemap/provinces.geojson");
    if (!r.ok) return;
    state.layer = L.geoJSON(await r.json(), {
      onEachFeature: (f, l) => {
        l.bindTooltip(f.properties.name, { sticky: true });
        l.on("click", () => choose(f.properties.code));
      },
    }).addTo(map);
    paint();
  }

  // -- ranking and organisations ----------------------------------------------------------------------------
  function rank() {
    const key = $("measure").value;
    const rows = state.data.provinces.slice().sort((a, b) => (b[key] ?? -Infinity) - (a[key] ?? -Infinity))
      .map((p, i) => ({ rank: i + 1, code: p.code, name: p.name, [key]: p[key] }));
    fillTable("ranking", [{ key: "rank", title: "رتبه" }, { key: "name", title: "استان" },
      { key, title: state.measures[key].title_fa, measure: key }], rows, (r) => choose(r.code));
    for (const tr of $("ranking").querySelectorAll("tbody tr")) {
      tr.classList.toggle("selected", tr.dataset.code === state.province);
    }
  }

  async function load() {
    try {
      state.data = await api("/v1/stats/provinces");
    } catch (e) { showMessage(e.message); return; }
    showMessage("");
    state.measures = Object.fromEntries(state.data.measures.map((m) => [m.key, m]));
    const sel = $("measure");
    const current = sel.value;
    sel.replaceChildren(...state.data.measures.filter((m) => ["count", "share", "days"].includes(m.kind))
      .map((m) => el("option", { value: m.key }, m.title_fa)));
    sel.value = current || "units";
    const ps = $("province");
    ps.replaceChildren(el("option", { value: "" }, "— یک استان را انتخاب کنید —"),
      ...state.data.provinces.map((p) => el("option", { value: p.code }, p.name)));
    ps.value = state.province;
    $("computed").textContent = "محاسبه‌شده در " + new Date(state.data.computed_at).toLocaleString(
      "fa-IR-u-ca-persian", { timeZone: "Asia/Tehran", dateStyle: "medium", timeStyle: "short" }) + " (وقت تهران)";
    fillTable("served", [{ key: "org", title: "سازمان" }, { key: "org_type", title: "نوع" },
      { key: "lookups", title: "استعلام", measure: "served" },
      { key: "matches", title: "تطبیق", measure: "served" }], state.data.served || []);
    fillTable("served_by_type", [{ key: "org_type", title: "نوع سازمان" },
      { key: "lookups", title: "استعلام", measure: "served" },
      { key: "matches", title: "تطبیق", measure: "served" }], state.data.served_by_type || []);
    rank();
    paint();
  }

  // -- one province: figures, plans with charts, monthly series, counties ---------------------------------
  // Downloads keep the raw values; the table shows them formatted for the plan's measure.
  const PLAN_COLUMNS = [{ key: "measure_fa", title: "شاخص" },
    { key: "target", title: "هدف", fmt: (r) => format(r.measure, r.target) },
    { key: "deadline_jalali", title: "مهلت" }, { key: "latest", title: "آخرین مقدار", fmt: (r) => format(r.measure, r.latest) },
    { key: "reached_pct", title: "درصد تحقق", fmt: (r) => (r.reached_pct === "" ? "—" : fa(r.reached_pct) + "٪") },
    { key: "days_left", title: "روز مانده", fmt: (r) => (r.days_left < 0 ? "گذشته" : fa(r.days_left)) }];

  function drawChart(plan) {
    const m = state.measures[plan.measure];
    const canvas = el("canvas", { "aria-label": "نمودار پیشرفت " + m.title_fa, role: "img" });
    const box = el("div", { class: "chart", "data-plan": String(plan.id) }, canvas);
    $("charts").append(el("h4", {}, m.title_fa + " — هدف " + format(plan.measure, plan.target) + " تا " +
      fa(plan.deadline_jalali), defLink(plan.measure, "تعریف")), box);
    const labels = plan.trajectory.map((p) => fa(p.day_jalali));
    state.charts.push(new Chart(canvas, {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: m.title_fa, data: plan.trajectory.map((p) => p.value), borderColor: "#0b6e4f", tension: 0.2 },
          { label: "هدف", data: plan.trajectory.map(() => plan.target), borderColor: "#a4262c", borderDash: [6, 4],
            pointRadius: 0 },
        ],
      },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { rtl: true } } },
    }));
  }

  async function choose(code) {
    state.province = code;
    $("province").value = code;
    rank();
    paint();
    if (!code) { $("province-body").hidden = true; return; }
    let d;
    try { d = await api("/v1/stats/provinces/" + encodeURIComponent(code)); } catch (e) { showMessage(e.message); return; }
    if (state.province !== code) return;  // another province was chosen meanwhile
    $("province-title").textContent = "استان " + d.province.name;
    const keys = d.measures.filter((m) => ["count", "share", "days"].includes(m.kind));
    fillTable("province-figures", [{ key: "title", title: "شاخص" }, { key: "value", title: "مقدار" }],
      keys.map((m) => ({ title: m.title_fa, value: format(m.key, d.province[m.key]), key: m.key })));
    for (const [i, tr] of $("province-figures").querySelectorAll("tbody tr").entries()) {
      tr.firstChild.append(defLink(keys[i].key, "؟"));
    }
    for (const c of state.charts) c.destroy();
    state.charts = [];
    $("charts").replaceChildren();
    const plans = d.plans.map((p) => ({ ...p, measure_fa: state.measures[p.measure].title_fa,
      reached_pct: p.reached === null ? "" : (p.reached * 100).toFixed(1) }));
    $("no-plans").hidden = plans.length > 0;
    fillTable("plans", PLAN_COLUMNS, plans);
    plans.forEach(drawChart);
    fillTable("monthly", [{ key: "month", title: "ماه" }, { key: "name", title: "محدوده" },
      { key: "issued", title: "صادرشده", measure: "issued" }, { key: "retired", title: "باطل‌شده", measure: "retired" }],
      d.monthly.map((r) => ({ ...r, name: r.level === "province" ? d.province.name
        : (d.counties.find((c) => c.code === r.code) || {}).name })));
    fillTable("counties", [{ key: "name", title: "شهرستان" },
      ...keys.map((m) => ({ key: m.key, title: m.title_fa, measure: m.key }))], d.counties);
    $("province-body").hidden = false;
  }

  $("measure").addEventListener("change", () => { rank(); paint(); });
  $("province").addEventListener("change", (ev) => choose(ev.target.value));
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const k = $("api-key").value.trim();
    if (k) localStorage.setItem(KEY_STORE, k); else localStorage.removeItem(KEY_STORE);
    $("api-key").value = "";
    $("key-status").textContent = apiKey() ? "کلید ذخیره شده است" : "کلیدی ذخیره نشده";
    load();
  });
  $("key-status").textContent = apiKey() ? "کلید ذخیره شده است" : "کلیدی ذخیره نشده";
  loadBasemap();
  if (apiKey()) load();
})();
