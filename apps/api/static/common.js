// Helpers shared by the tokens pages (window.mf). No framework, no build step; everything the
// pages load comes from this host.
/* global window, document, Node, AbortController, fetch, setTimeout, clearTimeout, navigator */
"use strict";

(() => {
  const REQUEST_TIMEOUT_MS = 8_000;

  const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

  /** An element with attributes and children; text is always set as text, never as HTML. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "testid") node.dataset.testid = v;
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /** GET a JSON path; a non-2xx answer throws with its status (and the api's error text). */
  async function getJson(path) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(path, {
        signal: abort.signal,
        cache: "no-store",
        headers: { accept: "application/json" },
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        const err = new Error(body?.error ?? `${path} answered ${res.status}`);
        err.status = res.status;
        throw err;
      }
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  const fmt = (v, digits = 1) => (isNum(v) ? v.toFixed(digits) : "–");
  const usd = (v) =>
    isNum(v)
      ? `$${v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0)}`
      : "–";
  const pct = (v) => (isNum(v) ? `${(v * 100).toFixed(1)}%` : "–");
  const shortMint = (m) => (m.length > 12 ? `${m.slice(0, 4)}…${m.slice(-4)}` : m);
  const ago = (ms) =>
    !isNum(ms)
      ? "–"
      : ms < 1_500
        ? "now"
        : ms < 90_000
          ? `${Math.round(ms / 1000)} s`
          : ms < 5_400_000
            ? `${Math.round(ms / 60_000)} min`
            : `${(ms / 3_600_000).toFixed(1)} h`;
  const when = (iso) => (iso ? new Date(iso).toLocaleString([], { hour12: false }) : "–");

  /** Copies text; the button says so (or why not) for a moment. */
  async function copyText(text, button) {
    let ok;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      // No clipboard permission (plain http on another host): select a hidden textarea and copy.
      const area = el("textarea", { class: "copy-buffer", readonly: true }, text);
      document.body.append(area);
      area.select();
      ok = document.execCommand("copy");
      area.remove();
    }
    if (button) {
      const label = button.textContent;
      button.textContent = ok ? "copied" : "copy failed";
      button.dataset.copied = ok ? "yes" : "no";
      setTimeout(() => (button.textContent = label), 1_500);
    }
    return ok;
  }

  const copyButton = (text, testid, label = "copy") =>
    el(
      "button",
      { type: "button", class: "copy", testid, onclick: (e) => void copyText(text, e.currentTarget) },
      label,
    );

  const laneBadge = (lane, status) =>
    lane ? el("span", { class: `lane-badge lane-${lane}` }, lane) : (status ?? "–");
  const bandPill = (band) => el("span", { class: `band band-${band ?? "unscored"}` }, band ?? "unscored");

  window.mf = {
    byTestId,
    el,
    getJson,
    fmt,
    usd,
    pct,
    shortMint,
    ago,
    when,
    copyText,
    copyButton,
    laneBadge,
    bandPill,
    isNum,
  };
})();
