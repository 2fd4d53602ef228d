import { encodeBase58 } from "./base58.js";
import { seededAddress } from "./demo-mints.js";
import { buildMarketProfile } from "./market-profile.js";
import type { MarketKind } from "./market-profile.js";
import { migratedKind, migratedLife } from "./migration-market.js";
import type { MigrationLife } from "./migration-market.js";
import { createRng } from "./prng.js";

/** One simulated migration: what the chain did, and how the stream writes it. */
export interface Migration {
  mint: string;
  kind: MarketKind;
  /** Its market's one life (market minutes): ramp, peak, fade. */
  life: MigrationLife;
  name: string;
  symbol: string;
  pool: "pump-amm" | "raydium";
  /** Left out now and then, as PumpPortal does. */
  signature: string | null;
  /** Plain, or wrapped in `data` as some clients have seen. */
  envelope: "plain" | "data";
  withTimestamp: boolean;
}

/**
 * The seeded stream of migrations: the n-th migration depends on the seed alone, never on when it
 * happens, so two simulators with the same seed announce the same mints in the same order.
 */
export class MigrationFeed {
  readonly #next: () => number;

  constructor(seed: string) {
    this.#next = createRng(`migrations:${seed}`);
  }

  next(): Migration {
    const next = this.#next;
    // 32 bytes from one generator: no repeat within its 2^32 period, so no set of seen mints.
    const mint = seededAddress(next);
    const kind = migratedKind(next());
    const life = migratedLife(kind, next);
    const names = buildMarketProfile(mint, kind);
    const signatureBytes = new Uint8Array(64);
    for (let i = 0; i < 64; i++) signatureBytes[i] = Math.floor(next() * 256);
    const withSignature = next() < 0.9;
    return {
      mint,
      kind,
      life,
      name: names.name,
      symbol: names.symbol,
      pool: next() < 0.95 ? "pump-amm" : "raydium",
      signature: withSignature ? encodeBase58(signatureBytes) : null,
      envelope: next() < 0.8 ? "plain" : "data",
      withTimestamp: next() < 0.85,
    };
  }
}

/** The frame a PumpPortal client receives for `migration`, at market time `at`. */
export function migrationFrame(migration: Migration, at: number): string {
  const payload = {
    ...(migration.signature === null ? {} : { signature: migration.signature }),
    mint: migration.mint,
    txType: "migrate",
    pool: migration.pool,
    name: migration.name,
    symbol: migration.symbol,
    ...(migration.withTimestamp ? { timestamp: at } : {}),
  };
  return JSON.stringify(migration.envelope === "data" ? { data: payload } : payload);
}
