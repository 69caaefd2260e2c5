// What the service's pages share (the search page and the provinces' dashboard): the organisation key kept in
// this browser, Persian digits and element building. Loaded before each page's own script.
"use strict";

window.Jinef = (function () {
  const FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  return {
    KEY_STORE: "jinef.apiKey",
    IRAN: [[24.8, 43.9], [39.9, 63.4]],
    FA_DIGITS,
    fa: (s) => String(s).replace(/[0-9]/g, (d) => FA_DIGITS[d]),
    $: (id) => document.getElementById(id),
    el,
  };
})();
