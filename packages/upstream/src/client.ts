import { DEFAULT_UPSTREAM_CONNECTIONS, MINTS_PER_CALL, type ConnectionQueue } from "@moonfleet/domain";
import { Pool } from "undici";
import { z } from "zod";
import { pairSchema, readPair, type Pair } from "@moonfleet/scoring";
import {
  UpstreamConnectionError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamRateLimitedError,
  UpstreamSchemaError,
  UpstreamTimeoutError,
} from "./errors.js";
import { onAbort } from "./abort.js";

/** DexScreener answers pairs of at most this many tokens per call. */
/** Answers larger than this are refused rather than parsed. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export interface UpstreamClientOptions {
  readonly baseUrl: string;
  readonly chainId?: string;
  /** Most open connections to the upstream. */
  readonly connections?: number;
}

export interface CallOptions {
  /**
   * The call's timeout, or a function read again when it runs out: a call in flight then follows
   * its lane's timeout when the controller raises it (the first timeouts of a latency surge raise
   * it at once, and the calls already on the wire should not time out under the old value).
   */
  readonly timeoutMs: number | (() => number);
  /**
   * Told once, with the ms the call has run, when its timeout first runs out, before the timeout
   * is read again: the owner may raise it there (the call that meets a latency surge first is its
   * signal), and the call then times out only if it outlives the raised one too.
   */
  readonly overrun?: ((ms: number) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * An AbortSignal that fires when `limit()` ms have passed since now, the limit read again each time
 * the timer runs out (after `overrun`, the first time it has run out), or when `caller` aborts;
 * `timedOut()` says which; `clear()` stops both.
 */
function followingTimeout(
  limit: () => number,
  overrun: ((ms: number) => void) | undefined,
  caller: AbortSignal | undefined,
): { signal: AbortSignal; clear(): void; ms(): number; timedOut(): boolean } {
  const started = performance.now();
  const ctl = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout;
  let tell = overrun;
  const left = () => started + limit() - performance.now();
  const arm = (ms: number) => {
    timer = setTimeout(() => {
      if (left() < 1 && tell) {
        const told = tell;
        tell = undefined;
        try {
          // the limit it ran to, at least: a timer may fire up to a millisecond early
          told(Math.max(performance.now() - started, limit()));
        } catch {
          // the owner's trouble: the call keeps the deadline it has
        }
      }
      const rest = left();
      if (rest >= 1) arm(rest);
      else {
        timedOut = true;
        ctl.abort(new DOMException("upstream call timed out", "TimeoutError"));
      }
    }, ms);
    timer.unref?.();
  };
  arm(Math.max(0, limit()));
  const unlink = onAbort(caller, (reason) => ctl.abort(reason));
  return {
    signal: ctl.signal,
    clear: () => {
      clearTimeout(timer);
      unlink();
    },
    ms: () => Math.round(limit()),
    timedOut: () => timedOut,
  };
}

export interface UpstreamClient {
  /** Pairs of up to 30 mints from `/tokens/v1/{chain}/{mints}`, with the pairs that did not parse. */
  fetchPairs(mints: readonly string[], opts: CallOptions): Promise<PairsAnswer>;
  /** All pools of one mint from `/token-pairs/v1/{chain}/{mint}`. */
  fetchTokenPairs(mint: string, opts: CallOptions): Promise<PairsAnswer>;
  /** How full the connection pool was for the calls started since the last take; starts a new count. */
  takeConnectionQueue(): ConnectionQueue;
  close(): Promise<void>;
}

/** One element of an answer that is not a Pair: dropped, and told with its mint and field. */
export interface RejectedPair {
  /** Its position in the answer. */
  readonly index: number;
  /** `baseToken.address` when the element has one, else null. */
  readonly mint: string | null;
  /** The path of the first field at fault inside the pair, e.g. `liquidity.usd`. */
  readonly field: string;
  readonly message: string;
}

/** An answer read pair by pair: one bad pair costs only itself, not its 29 neighbours. */
export interface PairsAnswer {
  readonly pairs: Pair[];
  readonly rejected: RejectedPair[];
}

const describeIssue = (issue: z.core.$ZodIssue): string =>
  `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`;

const SCHEMA_MISMATCH = "answer does not match the Pair schema";

function mintOf(element: unknown): string | null {
  const base = (element as { baseToken?: { address?: unknown } } | null)?.baseToken;
  const address = typeof base === "object" && base !== null ? base.address : undefined;
  return typeof address === "string" && address.length > 0 ? address : null;
}

/**
 * One answer's text read pair by pair: the pairs that validate, and the ones that do not (each
 * dropped with its mint and field). Only an answer that is not JSON or not an array is an
 * UpstreamSchemaError as a whole.
 */
export function parsePairsAnswer(text: string): PairsAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamSchemaError(
      `answer is not valid JSON (${text.length} bytes, starts ${JSON.stringify(text.slice(0, 40))})`,
    );
  }
  if (!Array.isArray(body)) {
    const issue = z.array(z.unknown()).safeParse(body).error?.issues[0];
    throw new UpstreamSchemaError(
      `${SCHEMA_MISMATCH}: ${issue ? describeIssue(issue) : "(root): not an array"}`,
    );
  }
  const pairs: Pair[] = [];
  const rejected: RejectedPair[] = [];
  body.forEach((element: unknown, index) => {
    // Most pairs are well formed: readPair takes them without zod's cost; the rest go to the
    // schema, which gives the same pair or names the field at fault.
    const fast = readPair(element);
    if (fast) return void pairs.push(fast);
    const parsed = pairSchema.safeParse(element);
    if (parsed.success) return void pairs.push(parsed.data);
    const issue = parsed.error.issues[0];
    rejected.push({
      index,
      mint: mintOf(element),
      field: issue?.path.length ? issue.path.join(".") : "(pair)",
      message: issue?.message ?? "not a pair",
    });
  });
  return { pairs, rejected };
}

/** The error for an answer none of whose pairs can be used, naming the first fields at fault. */
export function schemaMismatch(rejected: readonly RejectedPair[]): UpstreamSchemaError {
  const issues = rejected
    .slice(0, 3)
    .map((r) => `${r.field === "(pair)" ? r.index : `${r.index}.${r.field}`}: ${r.message}`)
    .join("; ");
  return new UpstreamSchemaError(`${SCHEMA_MISMATCH}: ${issues}`);
}

/**
 * One answer's text as validated pairs, all or nothing: an UpstreamSchemaError names the first
 * fields at fault (as `<index>.<field>`). The client reads answers with parsePairsAnswer instead.
 */
export function parsePairsBody(text: string): Pair[] {
  const { pairs, rejected } = parsePairsAnswer(text);
  if (rejected.length > 0) throw schemaMismatch(rejected);
  return pairs;
}

/** A keep-alive undici Pool to one upstream, returning zod-validated pairs or a named error. */
export function createUpstreamClient(opts: UpstreamClientOptions): UpstreamClient {
  const base = new URL(opts.baseUrl);
  const chain = opts.chainId ?? "solana";
  const connections = opts.connections ?? DEFAULT_UPSTREAM_CONNECTIONS;
  const pool = new Pool(base.origin, {
    connections,
    keepAliveTimeout: 30_000,
    pipelining: 1,
  });
  const basePath = base.pathname.replace(/\/$/, "");
  let queue = { calls: 0, waitingSum: 0 };

  async function get(path: string, call: CallOptions): Promise<string> {
    const limit = call.timeoutMs;
    const deadline = followingTimeout(
      typeof limit === "function" ? limit : () => limit,
      call.overrun,
      call.signal,
    );
    const signal = deadline.signal;
    queue.calls++;
    queue.waitingSum += pool.stats.pending;
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
      if (deadline.timedOut()) throw new UpstreamTimeoutError(deadline.ms());
      if (call.signal?.aborted) throw call.signal.reason ?? err;
      throw new UpstreamConnectionError(err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      deadline.clear();
    }
  }

  return {
    async fetchPairs(mints, call) {
      if (mints.length === 0) return { pairs: [], rejected: [] };
      if (mints.length > MINTS_PER_CALL)
        throw new RangeError(`at most ${MINTS_PER_CALL} mints per call, got ${mints.length}`);
      return parsePairsAnswer(
        await get(`/tokens/v1/${chain}/${mints.map(encodeURIComponent).join(",")}`, call),
      );
    },
    async fetchTokenPairs(mint, call) {
      return parsePairsAnswer(await get(`/token-pairs/v1/${chain}/${encodeURIComponent(mint)}`, call));
    },
    takeConnectionQueue() {
      const taken = { ...queue, connections };
      queue = { calls: 0, waitingSum: 0 };
      return taken;
    },
    close: () => pool.close(),
  };
}
