import { stringify } from "smol-toml";
import type { ExportPool } from "./candidate.js";
import type { ExportMember } from "./hysteresis.js";
import type { ExportSettings } from "./settings.js";

/** The per-DEX lists of SolanaMevBot's `[[routing.mint_config_list]]`, by moonfleet pool type. */
export const SMB_POOL_LISTS = {
  pumpfun_amm: "pump_pool_list",
  raydium_amm: "raydium_pool_list",
  raydium_cpmm: "raydium_cp_pool_list",
  raydium_clmm: "raydium_clmm_pool_list",
  meteora_dlmm: "meteora_dlmm_pool_list",
  meteora_damm_v2: "meteora_damm_v2_pool_list",
  orca_whirlpool: "whirlpool_pool_list",
} as const;
export type SmbPoolList = (typeof SMB_POOL_LISTS)[keyof typeof SMB_POOL_LISTS];

/** A token as every format sees it. */
export type ExportedToken = Pick<ExportMember, "mint" | "symbol" | "pools"> &
  Partial<Omit<ExportMember, "mint" | "symbol" | "pools">>;

/** NotArb onchain-bot markets: one array of pool addresses per token (an arbitrage group). */
export function notArbMarkets(tokens: readonly ExportedToken[]): string[][] {
  return tokens.map((t) => t.pools.map((p) => p.address));
}

export function notArbMarketsJson(tokens: readonly ExportedToken[]): string {
  return `${JSON.stringify(notArbMarkets(tokens))}\n`;
}

/** One SolanaMevBot mint entry: the mint and every per-DEX list (empty lists included). */
export function smbMintConfig(t: ExportedToken): Record<string, string | string[]> {
  const entry: Record<string, string | string[]> = { mint: t.mint };
  for (const list of Object.values(SMB_POOL_LISTS)) entry[list] = [];
  for (const p of t.pools) {
    const list = SMB_POOL_LISTS[p.poolType as keyof typeof SMB_POOL_LISTS] as SmbPoolList | undefined;
    if (list) (entry[list] as string[]).push(p.address);
  }
  return entry;
}

/** A symbol as a one-line TOML comment: no control characters (a newline would end the comment). */
export function commentText(symbol: string | null, mint: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = (symbol ?? "").replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, "").trim();
  return clean === "" ? mint : clean;
}

/** One token's `[[routing.mint_config_list]]` block, headed by a `#SYMBOL` comment. */
export function smbBlock(t: ExportedToken): string {
  const toml = stringify({ routing: { mint_config_list: [smbMintConfig(t)] } });
  return `#${commentText(t.symbol, t.mint)}\n${toml.trim()}\n`;
}

/** SolanaMevBot (SMB-onchain) routing config: one block per token; an empty list when none. */
export function smbConfigToml(tokens: readonly ExportedToken[], header: readonly string[] = []): string {
  const head = header.map((line) => `# ${commentText(line, "")}\n`).join("");
  if (tokens.length === 0) return `${head}${stringify({ routing: { mint_config_list: [] } }).trim()}\n`;
  return head + tokens.map(smbBlock).join("\n");
}

/** What the human and script format carries about one pool. */
export const poolView = (p: ExportPool) => ({
  address: p.address,
  dex: p.dexId,
  type: p.poolType,
  quote: p.quote,
  liquidityUsd: p.liquidityUsd,
});

export interface MarketsDocument {
  readonly version: number;
  readonly generatedAt: number;
  readonly changedAt: number;
  readonly settings: ExportSettings;
  readonly tokens: readonly ExportedToken[];
}

/** `GET /exports/markets.json`: the selection with everything a human or a script needs. */
export function marketsJson(doc: MarketsDocument, now: number) {
  return {
    version: doc.version,
    generatedAt: new Date(doc.generatedAt).toISOString(),
    changedAt: doc.changedAt ? new Date(doc.changedAt).toISOString() : null,
    rule: {
      topN: doc.settings.topN,
      minScore: doc.settings.minScore,
      exitScore: doc.settings.exitScore,
      minPoolLiquidityUsd: doc.settings.minPoolLiquidityUsd,
      poolsPerToken: doc.settings.poolsPerToken,
      maxStalenessS: {
        hot: doc.settings.maxStalenessMs.hot / 1000,
        cold: doc.settings.maxStalenessMs.cold / 1000,
      },
      minHoldS: doc.settings.minHoldMs / 1000,
    },
    tokens: doc.tokens.map((t) => ({
      mint: t.mint,
      symbol: t.symbol,
      name: t.name ?? null,
      smoothedScore: t.smoothedScore ?? null,
      band: t.band ?? null,
      fetchedAt: t.fetchedAt !== undefined ? new Date(t.fetchedAt).toISOString() : null,
      stalenessS: t.fetchedAt !== undefined ? Math.max(0, Math.round((now - t.fetchedAt) / 100) / 10) : null,
      since: t.since !== undefined ? new Date(t.since).toISOString() : null,
      pools: t.pools.map(poolView),
    })),
  };
}

/** `GET /tokens/:mint/pool-configs`: one token's SMB block and NotArb line, selected or not. */
export function poolConfigs(t: ExportedToken) {
  return {
    mint: t.mint,
    symbol: t.symbol,
    pools: t.pools.map(poolView),
    smbToml: smbBlock(t),
    notArbLine: JSON.stringify(t.pools.map((p) => p.address)),
  };
}
