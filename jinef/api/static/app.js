// Jinef search page: autocomplete, postcode lookup and reverse geocoding over the v1 API, on an offline map.
// The organisation key is pasted once and kept in this browser's localStorage; it is sent as X-API-Key.
"use strict";

(function () {
  const { KEY_STORE, IRAN, FA_DIGITS, fa, $, el } = window.Jinef;
  const LEVEL_FA = { locality: "آبادی", neighbourhood: "محله", thoroughfare: "معبر" };
  const STATUS_FA = {
    ok: "",
    no_building_within_radius: "در این شعاع ساختمانی ثبت نشده است.",
    outside_iran: "این نقطه بیرون از مرزهای ایران است.",
  };
  const USAGE_FA = {
    residential: "مسکونی", commercial: "تجاری", workshop: "کارگاهی", administrative: "اداری",
    educational: "آموزشی", health: "درمانی", religious: "مذهبی", agricultural: "کشاورزی",
  };

  // -- small helpers ------------------------------------------------------------------------------
  const latin = (s) => String(s).replace(/[۰-۹]/g, (d) => FA_DIGITS.indexOf(d)).replace(/[٠-٩]/g, (d) => d.charCodeAt(0) - 0x660);
  const postcodeText = (p) => fa(p.slice(0, 5) + "-" + p.slice(5));
  const coordText = (lat, lon) => lat.toFixed(5) + ", " + lon.toFixed(5);


  function apiKey() { return localStorage.getItem(KEY_STORE) || ""; }

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  async function api(path, signal) {
    // Accept-Language: fa, so the service's own messages (what rule a postcode breaks, ...) come in Persian.
    const r = await fetch(path, { headers: { "X-API-Key": apiKey(), Accept: "application/json", "Accept-Language": "fa" },
                                  signal });
    let body = null;
    try { body = await r.json(); } catch (_) { /* not JSON: keep null */ }
    if (!r.ok) {
      const err = (body && body.error) || {};
      throw new ApiError(r.status, err.code || "http_" + r.status, err.message || r.statusText);
    }
    return body;
  }

  function explain(e) {
    if (!(e instanceof ApiError)) return "ارتباط با سرور برقرار نشد.";
    switch (e.status) {
      case 401: return "کلید دسترسی وارد نشده یا نامعتبر است. کلید را در بالای صفحه وارد کنید.";
      case 403: return "این کلید اجازهٔ این کار را ندارد.";
      case 404: return e.code === "not_found" ? e.message : "یافت نشد.";
      case 422: return e.message;
      case 429: return "سهمیهٔ درخواست‌ها تمام شده است؛ کمی بعد دوباره تلاش کنید.";
      default: return "خطای سرور (" + fa(e.status) + ").";
    }
  }

  function showMessage(text) {
    const m = $("message");
    m.textContent = text || "";
    m.hidden = !text;
  }

  // -- key ----------------------------------------------------------------------------------------
  function refreshKeyStatus() {
    $("key-status").textContent = apiKey() ? "کلید ذخیره شده است" : "کلیدی ذخیره نشده";
  }
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const k = $("api-key").value.trim();
    if (k) localStorage.setItem(KEY_STORE, k); else localStorage.removeItem(KEY_STORE);
    $("api-key").value = "";
    refreshKeyStatus();
    showMessage("");
  });
  refreshKeyStatus();

  // -- map ----------------------------------------------------------------------------------------
  const map = L.map("map", { minZoom: 4, maxZoom: 19, zoomSnap: 0.5, preferCanvas: true });
  map.fitBounds(IRAN);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("مرزها © مشارکت‌کنندگان OpenStreetMap");
  const markers = L.layerGroup().addTo(map);

  async function loadBasemap(level, style) {
    const r = await fetch("/v1/basemap/" + level + ".geojson");
    if (!r.ok) return null;
    const layer = L.geoJSON(await r.json(), { style, interactive: false });
    layer.addTo(map);
    return layer;
  }
  loadBasemap("counties", { color: "#7d8b99", weight: 0.6, fillColor: "#fbfaf5", fillOpacity: 1 })
    .then(() => loadBasemap("provinces", { color: "#3d4b59", weight: 1.4, fill: false }))
    .then((layer) => { if (layer) layer.bringToFront(); });

  function place(lat, lon, title, zoom) {
    markers.clearLayers();
    const m = L.marker([lat, lon], { title, alt: title }).addTo(markers);
    m.bindPopup(el("div", { dir: "rtl" }, title));
    map.setView([lat, lon], Math.max(map.getZoom(), zoom));
  }

  // -- result cards -------------------------------------------------------------------------------
  function card(title, ...parts) {
    const c = el("article", { class: "card" }, el("h2", {}, title), ...parts);
    const results = $("results");
    results.prepend(c);
    while (results.children.length > 5) results.lastChild.remove();
    return c;
  }

  function details(rows) {
    const dl = el("dl");
    for (const [k, v, cls] of rows) {
      if (v === null || v === undefined || v === "") continue;
      dl.append(el("dt", {}, k), el("dd", cls ? { class: cls } : {}, v));
    }
    return dl;
  }

  function postcodeCard(r) {
    const loc = r.location;
    card(
      el("span", {}, "کد پستی ", el("span", { class: "postcode-value" }, postcodeText(r.postcode))),
      el("p", { class: "address" }, r.standard_address),
      details([
        ["وضعیت", r.status === "active" ? "فعال" : "بازنشسته"],
        ["کاربری", USAGE_FA[r.address.usage] || r.address.usage],
        ["موقعیت", loc ? fa(coordText(loc.lat, loc.lon)) : "ثبت نشده", "coords"],
      ]),
    );
    if (loc) place(loc.lat, loc.lon, postcodeText(r.postcode), 16);
  }

  function nearestRows(rev) {
    return [
      ["استان", rev.province ? rev.province.name : ""],
      ["شهرستان", rev.county ? rev.county.name : ""],
      ["نزدیک‌ترین کد پستی", rev.postcode ? postcodeText(rev.postcode) : "", "postcode-value"],
      ["فاصله", rev.buildings && rev.buildings.length ? fa(Math.round(rev.buildings[0].distance_m)) + " متر" : ""],
      ["نشانی آن", rev.standard_address || ""],
    ];
  }

  async function suggestionCard(s) {
    const title = el("span", {}, s.name, el("span", { class: "badge" }, LEVEL_FA[s.level] || s.level));
    const c = card(title, el("p", { class: "address" }, s.label));
    if (!s.location) return;
    place(s.location.lat, s.location.lon, s.name, s.level === "locality" ? 12 : 15);
    try {
      const rev = await api("/v1/reverse?radius_m=500&limit=1&lat=" + s.location.lat + "&lon=" + s.location.lon);
      c.append(details(nearestRows(rev)));
    } catch (e) {
      c.append(el("p", { class: "muted" }, explain(e)));
    }
  }

  // -- autocomplete -------------------------------------------------------------------------------
  const q = $("q");
  const list = $("suggestions");
  let current = [];
  let active = -1;
  let timer = 0;
  let inflight = null;

  function closeList() {
    list.hidden = true;
    q.setAttribute("aria-expanded", "false");
    active = -1;
  }

  function render(items) {
    current = items;
    active = -1;
    list.replaceChildren();
    if (!items.length) {
      list.append(el("li", { class: "empty" }, "پیشنهادی پیدا نشد"));
    }
    items.forEach((s, i) => {
      const ctx = [s.locality !== s.name && s.level !== "locality" ? s.locality : "", s.county ? "شهرستان " + s.county : "",
                   s.province ? "استان " + s.province : ""].filter(Boolean).join("، ");
      const li = el("li", { role: "option", id: "sugg-" + i, class: "suggestion", "aria-selected": "false" },
        el("span", { class: "name" }, s.name), el("span", { class: "badge" }, LEVEL_FA[s.level] || s.level),
        el("span", { class: "ctx" }, ctx));
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(i); });
      list.append(li);
    });
    list.hidden = false;
    q.setAttribute("aria-expanded", "true");
  }

  function highlight(i) {
    const lis = list.querySelectorAll("li.suggestion");
    if (!lis.length) return;
    active = (i + lis.length) % lis.length;
    lis.forEach((li, j) => li.setAttribute("aria-selected", String(j === active)));
    lis[active].scrollIntoView({ block: "nearest" });
    q.setAttribute("aria-activedescendant", lis[active].id);
  }

  function choose(i) {
    const s = current[i];
    if (!s) return;
    q.value = s.name + (s.level !== "locality" && s.locality ? "، " + s.locality : "");
    closeList();
    suggestionCard(s);
  }

  async function suggest() {
    const text = q.value;
    if (!text.trim()) { closeList(); return; }
    if (!apiKey()) { showMessage("برای جستجو، کلید دسترسی را در بالای صفحه وارد کنید."); return; }
    if (inflight) inflight.abort();
    inflight = new AbortController();
    try {
      const body = await api("/v1/autocomplete?limit=8&q=" + encodeURIComponent(text), inflight.signal);
      if (q.value !== text) return; // typed on meanwhile
      showMessage("");
      render(body.suggestions);
    } catch (e) {
      if (e.name === "AbortError") return;
      closeList();
      showMessage(explain(e));
    }
  }

  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 120); });
  q.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") { ev.preventDefault(); if (list.hidden) suggest(); else highlight(active + 1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(active - 1); }
    else if (ev.key === "Enter") { ev.preventDefault(); if (!list.hidden) choose(active >= 0 ? active : 0); }
    else if (ev.key === "Escape") closeList();
  });
  q.addEventListener("blur", () => setTimeout(closeList, 100));

  // -- postcode -----------------------------------------------------------------------------------
  $("postcode-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const raw = $("postcode").value.trim();
    if (!raw) return;
    if (!apiKey()) { showMessage("برای جستجو، کلید دسترسی را در بالای صفحه وارد کنید."); return; }
    try {
      postcodeCard(await api("/v1/postcodes/" + encodeURIComponent(latin(raw))));
      showMessage("");
    } catch (e) {
      showMessage(explain(e));
    }
  });

  // -- map click: what is here --------------------------------------------------------------------
  map.on("click", async (ev) => {
    if (!apiKey()) { showMessage("برای جستجو، کلید دسترسی را در بالای صفحه وارد کنید."); return; }
    const { lat, lng } = ev.latlng;
    try {
      const rev = await api("/v1/reverse?radius_m=300&limit=1&lat=" + lat.toFixed(6) + "&lon=" + lng.toFixed(6));
      showMessage("");
      const c = card("این نقطه", el("p", { class: "coords muted" }, fa(coordText(lat, lng))));
      if (STATUS_FA[rev.status]) c.append(el("p", { class: "muted" }, STATUS_FA[rev.status]));
      c.append(details(nearestRows(rev)));
      const b = rev.buildings && rev.buildings[0];
      place(b ? b.lat : lat, b ? b.lon : lng, rev.postcode ? postcodeText(rev.postcode) : "این نقطه", map.getZoom());
    } catch (e) {
      showMessage(explain(e));
    }
  });
})();
