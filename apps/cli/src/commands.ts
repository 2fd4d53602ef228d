import { CliError, type ApiClient } from "./client.js";
import { table } from "./table.js";

type Json = Record<string, unknown>;
export interface Output {
  readonly json: boolean;
  print(text: string): void;
}

const show = (out: Output, data: unknown, human: () => string) =>
  out.print(out.json ? JSON.stringify(data, null, 2) : human());

export const USAGE = `usage: moonfleet <command> [--json]

  status                          the fleet at a glance (GET /health/scheduler)
  tokens ls [--status S] [--lane L] [--min-score N] [--limit N]
  tokens show <mint>
  tokens add <mint>...            register mints (admin)
  tokens rm <mint>                forget a mint (admin)
  config get [name]               effective settings and where each comes from
  config set <name>=<value>...    change runtime settings for the whole fleet (admin)
  config reset                    drop every runtime override (admin)
  budget                          the upstream budget, its pause and penalty (admin)
  budget clear                    lift a pause set by the upstream (admin)
  exports                         what the bots are served now

environment: MOONFLEET_URL (default http://127.0.0.1:8000), ADMIN_TOKEN`;

/** A value as typed on the command line: a number or boolean when it reads as one, else text. */
function parseValue(raw: string): unknown {
  if (raw === "true" || raw === "false") return raw === "true";
  const n = Number(raw);
  return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
}

export async function run(api: ApiClient, args: readonly string[], flags: Json, out: Output): Promise<void> {
  const [command, sub, ...rest] = args;
  switch (command) {
    case "status": {
      const h = (await api.request("GET", "/health/scheduler")) as Json & {
        status: string;
        lanes: Record<
          string,
          Json & {
            tokens?: number;
            staleness?: { p95?: number | null; ttlSeconds?: number };
            tokensPerSecond?: number;
          }
        >;
        workers?: unknown[];
        alerts?: Array<{ severity: string; message: string }>;
      };
      return show(out, h, () => {
        const lanes = Object.entries(h.lanes).map(([lane, l]) => [
          lane,
          l.tokens ?? null,
          l.tokensPerSecond ?? null,
          l.staleness?.p95 ?? null,
          l.staleness?.ttlSeconds ?? null,
        ]);
        const alerts = (h.alerts ?? []).map((a) => `  ${a.severity}: ${a.message}`);
        return [
          `fleet ${api.base}: ${h.status}, ${h.workers?.length ?? 0} workers`,
          table(["lane", "tokens", "tokens/s", "staleness p95 s", "ttl s"], lanes),
          ...(alerts.length ? ["alerts:", ...alerts] : []),
        ].join("\n");
      });
    }
    case "tokens":
      return tokens(api, sub, rest, flags, out);
    case "config":
      return config(api, sub, rest, out);
    case "budget": {
      if (sub === "clear") {
        const r = await api.request("DELETE", "/admin/budget/pause");
        return show(out, r, () => "the upstream pause is lifted");
      }
      if (sub !== undefined) throw new CliError(`unknown budget command "${sub}"\n${USAGE}`);
      const b = await api.request("GET", "/admin/budget");
      return show(out, b, () => JSON.stringify(b, null, 2));
    }
    case "exports": {
      const e = (await api.request("GET", "/exports/markets.json")) as Json & {
        version?: number;
        tokens?: Array<Json & { symbol?: string; mint?: string; smoothedScore?: number; pools?: unknown[] }>;
      };
      return show(out, e, () =>
        [
          `export version ${e.version ?? "-"}, ${e.tokens?.length ?? 0} tokens`,
          table(
            ["symbol", "mint", "smoothed", "pools"],
            (e.tokens ?? []).map((t) => [t.symbol, t.mint, t.smoothedScore, t.pools?.length ?? 0]),
          ),
        ].join("\n"),
      );
    }
    default:
      throw new CliError(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
  }
}

async function tokens(
  api: ApiClient,
  sub: string | undefined,
  rest: readonly string[],
  flags: Json,
  out: Output,
) {
  switch (sub) {
    case "ls":
    case undefined: {
      const q = new URLSearchParams();
      for (const [flag, param] of [
        ["status", "status"],
        ["lane", "lane"],
        ["min-score", "min_score"],
        ["limit", "limit"],
        ["sort", "sort"],
      ] as const)
        if (typeof flags[flag] === "string") q.set(param, flags[flag]);
      const page = (await api.request("GET", `/tokens${q.size ? `?${q.toString()}` : ""}`)) as {
        total: number;
        items: Array<Json>;
      };
      return show(out, page, () =>
        [
          table(
            ["symbol", "mint", "status", "lane", "smoothed", "band", "staleness s"],
            page.items.map((t) => [
              t.symbol,
              t.mint,
              t.status,
              t.lane,
              t.smoothedScore,
              t.band,
              t.stalenessSeconds,
            ]),
          ),
          `${page.items.length} of ${page.total}`,
        ].join("\n"),
      );
    }
    case "show": {
      const mint = need(rest[0], "tokens show <mint>");
      const t = await api.request("GET", `/tokens/${encodeURIComponent(mint)}`);
      return show(out, t, () => JSON.stringify(t, null, 2));
    }
    case "add": {
      if (rest.length === 0) throw new CliError("usage: moonfleet tokens add <mint>...");
      const r = (await api.request("POST", "/tokens", { mints: rest })) as {
        added: string[];
        existing: string[];
      };
      return show(out, r, () => `${r.added.length} added, ${r.existing.length} already registered`);
    }
    case "rm": {
      const mint = need(rest[0], "tokens rm <mint>");
      const r = await api.request("DELETE", `/tokens/${encodeURIComponent(mint)}`);
      return show(out, r, () => `${mint} removed`);
    }
    default:
      throw new CliError(`unknown tokens command "${sub}"\n${USAGE}`);
  }
}

async function config(api: ApiClient, sub: string | undefined, rest: readonly string[], out: Output) {
  switch (sub) {
    case "get":
    case undefined: {
      const c = (await api.request("GET", "/config")) as {
        values: Record<string, { env: string; value: unknown; source: string; runtime: boolean }>;
      };
      const name = rest[0];
      const entries = Object.entries(c.values).filter(
        ([key, v]) => !name || key === name || v.env === name.toUpperCase(),
      );
      if (name && entries.length === 0) throw new CliError(`no setting named "${name}"`);
      const data = name ? Object.fromEntries(entries) : c;
      return show(out, data, () =>
        table(
          ["setting", "value", "source", "runtime"],
          entries.map(([, v]) => [
            v.env,
            typeof v.value === "object" ? JSON.stringify(v.value) : v.value,
            v.source,
            v.runtime ? "yes" : "",
          ]),
        ),
      );
    }
    case "set": {
      if (rest.length === 0) throw new CliError("usage: moonfleet config set <name>=<value>...");
      const patch = Object.fromEntries(
        rest.map((kv) => {
          const i = kv.indexOf("=");
          if (i <= 0) throw new CliError(`expected <name>=<value>, got "${kv}"`);
          return [kv.slice(0, i), parseValue(kv.slice(i + 1))];
        }),
      );
      const r = await api.request("PATCH", "/config", patch);
      return show(out, r, () => `applied: ${Object.keys(patch).join(", ")}`);
    }
    case "reset": {
      const r = await api.request("DELETE", "/config/overrides");
      return show(out, r, () => "runtime overrides cleared");
    }
    default:
      throw new CliError(`unknown config command "${sub}"\n${USAGE}`);
  }
}

function need(v: string | undefined, usage: string): string {
  if (!v) throw new CliError(`usage: moonfleet ${usage}`);
  return v;
}
