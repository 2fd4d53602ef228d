// The tokens page: search, filters, sort and paging over GET /tokens. The page's state is its
// URL's query, which is the api's query too, so a link shows the same view.
/* global window, document, location, history, URLSearchParams, setTimeout, clearTimeout, mf */
"use strict";

(() => {
  const { el, byTestId, getJson, fmt, usd, shortMint, laneBadge, bandPill } = mf;
  const KEYS = ["q", "status", "lane", "band", "min_score", "sort", "limit", "offset"];
  const DEFAULTS = { sort: "score_desc", limit: "50", offset: "0" };
  const form = byTestId("filters");

  /** The view's state from the URL: only the keys the api knows, without defaults or blanks. */
  function stateFromUrl() {
    const params = new URLSearchParams(location.search);
    const state = {};
    for (const k of KEYS) {
      const v = params.get(k);
      if (v !== null && v !== "" && v !== DEFAULTS[k]) state[k] = v;
    }
    return state;
  }

  const query = (state, extra = {}) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...state, ...extra }))
      if (v !== undefined && v !== "") params.set(k, v);
    return params.toString();
  };

  function fillForm(state) {
    for (const k of ["q", "status", "lane", "band", "min_score", "sort", "limit"])
      form.elements[k].value = state[k] ?? DEFAULTS[k] ?? "";
  }

  function formState(offset = "0") {
    const state = {};
    for (const k of ["q", "status", "lane", "band", "min_score", "sort", "limit"]) {
      const v = form.elements[k].value.trim();
      if (v !== "" && v !== DEFAULTS[k]) state[k] = v;
    }
    if (offset !== "0") state.offset = offset;
    return state;
  }

  function navigate(state, replace = false) {
    const qs = query(state);
    const url = `${location.pathname}${qs ? `?${qs}` : ""}`;
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    void load();
  }

  const tokenHref = (mint) => `/ui/tokens/${encodeURIComponent(mint)}`;

  function row(t, i, offset) {
    const open = () => (location.href = tokenHref(t.mint));
    return el(
      "tr",
      {
        testid: "token-row",
        "data-mint": t.mint,
        tabindex: "0",
        onclick: open,
        onkeydown: (e) => e.key === "Enter" && open(),
      },
      el("td", { class: "num muted" }, offset + i + 1),
      el("td", {}, el("a", { href: tokenHref(t.mint), testid: "token-link" }, t.symbol ?? "—")),
      el("td", { class: "muted" }, t.name ?? ""),
      el("td", { class: "mono", title: t.mint }, shortMint(t.mint)),
      el("td", {}, laneBadge(t.lane, t.status), t.lane ? ` ${t.status}` : ""),
      el("td", {}, bandPill(t.band)),
      el("td", { class: "num", testid: "token-smoothed" }, fmt(t.smoothedScore, 3)),
      el("td", { class: "num muted" }, fmt(t.score, 3)),
      el("td", { class: "num" }, usd(t.liquidityUsd)),
      el("td", { class: "num" }, t.tx5m ?? "–"),
      el("td", { class: "num muted" }, t.stalenessSeconds === null ? "–" : `${fmt(t.stalenessSeconds)} s`),
    );
  }

  let loading = 0;
  async function load() {
    const state = stateFromUrl();
    fillForm(state);
    const mine = ++loading;
    const errorBox = byTestId("tokens-error");
    let page;
    try {
      page = await getJson(`/tokens?${query(state)}`);
    } catch (err) {
      if (mine !== loading) return;
      errorBox.hidden = false;
      errorBox.textContent = `Could not load tokens: ${err.message}`;
      return;
    }
    if (mine !== loading) return;
    errorBox.hidden = true;
    const offset = Number(state.offset ?? 0);
    const limit = Number(state.limit ?? DEFAULTS.limit);
    const body = byTestId("token-rows");
    body.replaceChildren(
      ...(page.items.length
        ? page.items.map((t, i) => row(t, i, offset))
        : [el("tr", { class: "empty" }, el("td", { colspan: 11 }, "No token matches."))]),
    );
    const count = byTestId("result-count");
    count.textContent = `· ${page.total} matching`;
    count.dataset.total = String(page.total);
    byTestId("page-info").textContent = page.total
      ? `${offset + 1}–${offset + page.items.length} of ${page.total}`
      : "0 of 0";
    byTestId("prev-page").disabled = offset <= 0;
    byTestId("next-page").disabled = offset + limit >= page.total;
    const exportState = { ...state, offset: undefined, limit: undefined };
    byTestId("export-ndjson").href = `/tokens?${query(exportState, { format: "ndjson" })}`;
    byTestId("export-csv").href = `/tokens?${query(exportState, { format: "csv" })}`;
    document.title = `moonfleet · tokens${state.q ? ` · ${state.q}` : ""}`;
  }

  let typing;
  form.addEventListener("input", (e) => {
    clearTimeout(typing);
    // Typing in the search box replaces the history entry; other changes add one.
    const isText = e.target.name === "q" || e.target.name === "min_score";
    typing = setTimeout(() => navigate(formState(), isText), isText ? 250 : 0);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    navigate(formState());
  });
  byTestId("prev-page").addEventListener("click", () => {
    const s = stateFromUrl();
    const limit = Number(s.limit ?? DEFAULTS.limit);
    navigate({ ...s, offset: String(Math.max(0, Number(s.offset ?? 0) - limit)) });
  });
  byTestId("next-page").addEventListener("click", () => {
    const s = stateFromUrl();
    const limit = Number(s.limit ?? DEFAULTS.limit);
    navigate({ ...s, offset: String(Number(s.offset ?? 0) + limit) });
  });
  window.addEventListener("popstate", () => void load());
  void load();
})();
