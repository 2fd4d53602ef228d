// A hand-written SVG chart of one scenario over time: one panel per figure (tokens/s, staleness p95
// per lane against the TTL, concurrency per lane, upstream timeouts per second), one colour per
// cell (mode, or worker count), hot lane solid and cold lane dashed, the disturbance shaded, the
// end of the warmup as a dashed vertical line.

const W = 960;
const PANEL_H = 150;
const PAD = { left: 64, right: 150, top: 34, gap: 34 };
const COLOURS = ["#888888", "#d9822b", "#2b7bd9", "#3aa35b", "#a33a8f", "#c23b3b", "#5b5bd6"];
const MODE_COLOUR = { legacy: COLOURS[0], fixed: COLOURS[1], adaptive: COLOURS[2], bare: COLOURS[3] };

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v) =>
  v >= 1000
    ? `${Math.round(v / 100) / 10}k`
    : v >= 10
      ? String(Math.round(v))
      : String(Math.round(v * 100) / 100);

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** Moving average over `k` points, so one-second heartbeat jitter does not hide the trend. */
function smooth(values, k) {
  return values.map((_, i) => {
    const win = values.slice(Math.max(0, i - k + 1), i + 1).filter((v) => v !== null && v !== undefined);
    return win.length ? win.reduce((a, b) => a + b, 0) / win.length : null;
  });
}

/**
 * @param {object} o
 * @param {string} o.title
 * @param {Array<{label: string, key: string, series: object[], band?: [number, number] | null}>} o.cells
 * @param {{hot: number, cold: number}} o.ttl seconds
 */
export function renderChart({ title, cells, ttl }) {
  const panels = [
    { name: "tokens scored per second (5 s average)", lines: [{ key: "tokensPerS", dash: "" }], smooth: 5 },
    {
      name: "staleness p95, s (hot solid, cold dashed; grey: TTL)",
      lines: [
        { key: "stale_hot", dash: "" },
        { key: "stale_cold", dash: "5,3" },
      ],
      refs: [ttl.hot, ttl.cold],
      smooth: 1,
    },
    {
      name: "concurrency, fleet total per lane (hot solid, cold dashed)",
      lines: [
        { key: "conc_hot", dash: "" },
        { key: "conc_cold", dash: "5,3" },
      ],
      smooth: 1,
    },
    {
      name: "upstream timeouts per second (5 s average)",
      lines: [{ key: "timeoutsPerS", dash: "" }],
      smooth: 5,
    },
  ];
  const tMax = Math.max(1, ...cells.flatMap((c) => c.series.map((p) => p.t)));
  const plotW = W - PAD.left - PAD.right;
  const H = PAD.top + panels.length * (PANEL_H + PAD.gap) + 10;
  const x = (t) => PAD.left + (t / tMax) * plotW;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`);
  panels.forEach((panel, pi) => {
    const top = PAD.top + pi * (PANEL_H + PAD.gap) + 14;
    const data = cells.map((c) => ({
      cell: c,
      lines: panel.lines.map((l) => ({
        ...l,
        values: smooth(
          c.series.map((p) => p[l.key] ?? null),
          panel.smooth,
        ),
      })),
    }));
    const vMax = niceMax(
      Math.max(
        ...(panel.refs ?? []),
        ...data.flatMap((d) => d.lines.flatMap((l) => l.values.filter((v) => v !== null))),
      ),
    );
    const y = (v) => top + PANEL_H - (Math.min(v, vMax) / vMax) * PANEL_H;
    out.push(`<text x="${PAD.left}" y="${top - 5}" font-weight="bold">${esc(panel.name)}</text>`);
    // The measured window starts where the warmup ends.
    for (const c of cells.slice(0, 1))
      if (c.windowStartS)
        out.push(
          `<line x1="${x(c.windowStartS)}" x2="${x(c.windowStartS)}" y1="${top}" y2="${top + PANEL_H}" stroke="#999999" stroke-dasharray="4,3"/>`,
        );
    for (const c of cells)
      if (c.band)
        out.push(
          `<rect x="${x(c.band[0])}" y="${top}" width="${Math.max(0, x(c.band[1]) - x(c.band[0]))}" height="${PANEL_H}" fill="#f3e3c3" opacity="0.35"/>`,
        );
    out.push(
      `<rect x="${PAD.left}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#bbbbbb"/>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = (vMax * k) / 4;
      out.push(
        `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#eeeeee"/>`,
        `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555555">${fmt(v)}</text>`,
      );
    }
    for (const r of panel.refs ?? [])
      out.push(
        `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(r)}" y2="${y(r)}" stroke="#999999" stroke-dasharray="2,2"/>`,
      );
    for (const d of data)
      for (const l of d.lines) {
        const pts = [];
        d.cell.series.forEach((p, i) => {
          const v = l.values[i];
          if (v !== null) pts.push(`${x(p.t).toFixed(1)},${y(v).toFixed(1)}`);
        });
        if (pts.length > 1)
          out.push(
            `<polyline fill="none" stroke="${d.cell.colour}" stroke-width="1.6" ${l.dash ? `stroke-dasharray="${l.dash}"` : ""} points="${pts.join(" ")}"/>`,
          );
      }
    for (let k = 0; k <= 6; k++) {
      const t = (tMax * k) / 6;
      out.push(
        `<text x="${x(t)}" y="${top + PANEL_H + 13}" text-anchor="middle" fill="#555555">${Math.round(t)} s</text>`,
      );
    }
  });
  cells.forEach((c, i) => {
    const ly = PAD.top + 20 + i * 18;
    out.push(
      `<line x1="${W - PAD.right + 14}" x2="${W - PAD.right + 38}" y1="${ly}" y2="${ly}" stroke="${c.colour}" stroke-width="3"/>`,
      `<text x="${W - PAD.right + 44}" y="${ly + 4}">${esc(c.label)}</text>`,
    );
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

export function colourFor(key, i) {
  return MODE_COLOUR[key] ?? COLOURS[(i + 3) % COLOURS.length];
}
