import { Pool } from "undici";
import type { z } from "zod";
import { pairsSchema, type Pair } from "@moonfleet/scoring";
import {
  UpstreamConnectionError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamRateLimitedError,
  UpstreamSchemaError,
  UpstreamTimeoutError,
} from "./errors.js";

/** DexScreener answers pairs of at most this many tokens per call. */
export const MAX_MINTS_PER_CALL = 30;
/** Answers larger than this are refused rather than parsed. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export interface UpstreamClientOptions {
  readonly baseUrl: string;
  readonly chainId?: string;
  /** Most open connections to the upstream. */
  readonly connections?: number;
}

export interface CallOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export interface UpstreamClient {
  /** Pairs of up to 30 mints from `/tokens/v1/{chain}/{mints}`. */
  fetchPairs(mints: readonly string[], opts: CallOptions): Promise<Pair[]>;
  /** All pools of one mint from `/token-pairs/v1/{chain}/{mint}`. */
  fetchTokenPairs(mint: string, opts: CallOptions): Promise<Pair[]>;
  close(): Promise<void>;
}

const describeIssue = (issue: z.core.$ZodIssue): string =>
  `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`;

/** One answer's text as validated pairs, or an UpstreamSchemaError saying what is wrong with it. */
export function parsePairsBody(text: string): Pair[] {
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamSchemaError(
      `answer is not valid JSON (${text.length} bytes, starts ${JSON.stringify(text.slice(0, 40))})`,
    );
  }
  const parsed = pairsSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map(describeIssue).join("; ");
    throw new UpstreamSchemaError(`answer does not match the Pair schema: ${issues}`);
  }
  return parsed.data;
}

/** A keep-alive undici Pool to one upstream, returning zod-validated pairs or a named error. */
export function createUpstreamClient(opts: UpstreamClientOptions): UpstreamClient {
  const base = new URL(opts.baseUrl);
  const chain = opts.chainId ?? "solana";
  const pool = new Pool(base.origin, {
    connections: opts.connections ?? 32,
    keepAliveTimeout: 30_000,
    pipelining: 1,
  });
  const basePath = base.pathname.replace(/\/$/, "");

  async function get(path: string, call: CallOptions): Promise<string> {
    const timeout = AbortSignal.timeout(call.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    try {
      const res = await pool.request({
        method: "GET",
        path: basePath + path,
        headers: { accept: "application/json" },
        signal,
      });
      if (res.statusCode === 429) {
        await res.body.dump();
        const after = Number(res.headers["retry-after"]);
        throw new UpstreamRateLimitedError(Number.isFinite(after) && after >= 0 ? after * 1000 : 1000);
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new UpstreamHttpError(res.statusCode);
      }
      const length = Number(res.headers["content-length"]);
      if (length > MAX_RESPONSE_BYTES) {
        await res.body.dump();
        throw new UpstreamSchemaError(
          `answer of ${length} bytes is over the ${MAX_RESPONSE_BYTES}-byte limit`,
        );
      }
      // Content-Length is not always sent (chunked answers): count the bytes as they arrive too.
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES)
          throw new UpstreamSchemaError(`answer is over the ${MAX_RESPONSE_BYTES}-byte limit`);
        chunks.push(chunk);
      }
      return Buffer.concat(chunks).toString("utf8");
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      if (timeout.aborted) throw new UpstreamTimeoutError(call.timeoutMs);
      if (call.signal?.aborted) throw call.signal.reason ?? err;
      throw new UpstreamConnectionError(err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  return {
    async fetchPairs(mints, call) {
      if (mints.length === 0) return [];
      if (mints.length > MAX_MINTS_PER_CALL)
        throw new RangeError(`at most ${MAX_MINTS_PER_CALL} mints per call, got ${mints.length}`);
      return parsePairsBody(
        await get(`/tokens/v1/${chain}/${mints.map(encodeURIComponent).join(",")}`, call),
      );
    },
    async fetchTokenPairs(mint, call) {
      return parsePairsBody(await get(`/token-pairs/v1/${chain}/${encodeURIComponent(mint)}`, call));
    },
    close: () => pool.close(),
  };
}
