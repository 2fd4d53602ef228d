import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MAX_RESPONSE_BYTES,
  UpstreamSchemaError,
  createUpstreamClient,
  parsePairsAnswer,
  type UpstreamClient,
} from "@moonfleet/upstream";

// The real client over loopback against a server that answers fast-check-generated bodies, with
// and without Content-Length, in random chunks: the client gives pairs (and the ones it dropped) or an UpstreamSchemaError,
// the same outcome as parsing the whole text at once, and it never hangs on any of them.

const MINT = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";
/** Far above a loopback answer's time: a call that reaches it counts as hanging. */
const TIMEOUT_MS = 10_000;

interface Answer {
  readonly body: Buffer;
  /** Content-Length, or chunked transfer without one. */
  readonly withLength: boolean;
  /** Where the body is cut into writes, as fractions of its length. */
  readonly cuts: readonly number[];
  readonly contentType: string;
}

let server: Server;
let client: UpstreamClient;
let next: Answer | null = null;

async function send(res: ServerResponse, a: Answer): Promise<void> {
  res.writeHead(200, {
    "content-type": a.contentType,
    ...(a.withLength ? { "content-length": String(a.body.length) } : {}),
  });
  let from = 0;
  for (const cut of [...a.cuts].sort()) {
    const to = Math.floor(a.body.length * cut);
    if (to <= from) continue;
    res.write(a.body.subarray(from, to));
    from = to;
    await new Promise((r) => setImmediate(r));
  }
  res.end(a.body.subarray(from));
}

beforeAll(async () => {
  server = createServer((_req, res) => {
    const a = next;
    if (!a) return void res.writeHead(500).end();
    send(res, a).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = createUpstreamClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterAll(async () => {
  await client.close();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

type Outcome = { pairs: unknown[]; rejected: unknown[] } | { error: string };

/** What the client makes of one answer; any error but UpstreamSchemaError fails the test. */
async function fetchAnswer(a: Answer): Promise<Outcome> {
  next = a;
  const started = Date.now();
  try {
    return { ...(await client.fetchPairs([MINT], { timeoutMs: TIMEOUT_MS })) };
  } catch (error) {
    expect(error, `after ${Date.now() - started} ms`).toBeInstanceOf(UpstreamSchemaError);
    expect((error as Error).name).toBe("UpstreamSchemaError");
    expect((error as Error).message).not.toBe("");
    return { error: (error as Error).message };
  }
}

/** The same text parsed at once, as the oracle for what the client must answer. */
function expected(body: Buffer): Outcome {
  try {
    return { ...parsePairsAnswer(body.toString("utf8")) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const pair = fc.record(
  {
    chainId: fc.constantFrom("solana", ""),
    dexId: fc.constantFrom("raydium", "pumpswap"),
    pairAddress: fc.string({ minLength: 1, maxLength: 6 }),
    baseToken: fc.record({ address: fc.constantFrom(MINT, "") }),
    quoteToken: fc.record({ symbol: fc.constantFrom("SOL", "USDC") }, { requiredKeys: [] }),
    volume: fc.record(
      {
        m5: fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constantFrom("12.5", "1e400", "x", null),
        ),
      },
      { requiredKeys: [] },
    ),
    liquidity: fc.oneof(
      fc.constant(null),
      fc.record({ usd: fc.oneof(fc.nat(), fc.string({ maxLength: 4 })) }),
    ),
  },
  { requiredKeys: ["pairAddress", "baseToken", "quoteToken"] },
);
const validish = fc.array(pair, { maxLength: 5 }).map((a) => JSON.stringify(a));
const body = fc.oneof(
  { arbitrary: validish.map((t) => Buffer.from(t)), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))), weight: 2 },
  {
    // Truncated JSON: a valid answer cut anywhere.
    arbitrary: fc
      .tuple(validish, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }))
      .map(([t, at]) => Buffer.from(t.slice(0, Math.floor(t.length * at)))),
    weight: 2,
  },
  { arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)), weight: 1 },
  // Raw bytes, invalid UTF-8 included.
  { arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), weight: 1 },
  {
    arbitrary: fc
      .constantFrom("", "<html>502 Bad Gateway</html>", "\uFEFF[]", "[] trailing")
      .map((s) => Buffer.from(s)),
    weight: 1,
  },
);
const answer: fc.Arbitrary<Answer> = fc.record({
  body,
  withLength: fc.boolean(),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
  contentType: fc.constantFrom(
    "application/json",
    "text/html",
    "application/octet-stream",
    "application/json; charset=latin1",
  ),
});

describe("the upstream client on generated answers", () => {
  it("gives pairs or an UpstreamSchemaError, the same as parsing the whole text, and never hangs", async () => {
    await fc.assert(
      fc.asyncProperty(answer, async (a) => {
        expect(await fetchAnswer(a)).toEqual(expected(a.body));
      }),
      { numRuns: 150 },
    );
  });

  it.each([true, false])(
    "takes an answer of exactly the size limit and refuses one byte more (Content-Length sent: %s)",
    async (withLength) => {
      const padded = (size: number) => Buffer.from(`[${" ".repeat(size - 2)}]`);
      const at = await fetchAnswer({
        body: padded(MAX_RESPONSE_BYTES),
        withLength,
        cuts: [0.3, 0.7],
        contentType: "application/json",
      });
      expect(at).toEqual({ pairs: [], rejected: [] });
      const over = await fetchAnswer({
        body: padded(MAX_RESPONSE_BYTES + 1),
        withLength,
        cuts: [0.5],
        contentType: "application/json",
      });
      expect(over).toEqual({ error: expect.stringMatching(/over the \d+-byte limit/) });
      // The refused answer left the pool usable: the next call is answered.
      expect(
        await fetchAnswer({
          body: Buffer.from("[]"),
          withLength: true,
          cuts: [],
          contentType: "application/json",
        }),
      ).toEqual({
        pairs: [],
        rejected: [],
      });
    },
  );
});
