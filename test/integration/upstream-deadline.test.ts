import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionQueueDepth } from "@moonfleet/adaptive";
import { UpstreamTimeoutError, createUpstreamClient, type UpstreamClient } from "@moonfleet/upstream";

// A call in flight follows its lane's timeout: when the controller raises it (the first timeout of
// a latency surge does so at once), the calls already on the wire read the new value when theirs
// runs out. The real client over loopback against a server that answers after 300 ms.

const MINT = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";
const ANSWER_MS = 300;
let server: Server;
let client: UpstreamClient;
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

beforeAll(async () => {
  server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("[]");
    }, ANSWER_MS);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  client = createUpstreamClient({ baseUrl: urlOf(server) });
});
afterAll(async () => {
  await client.close();
  await new Promise((r) => server.close(r));
});

describe("the upstream client's deadline", () => {
  it("times out a call at a fixed timeout below the answer's time", async () => {
    const err = await client.fetchPairs([MINT], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect((err as UpstreamTimeoutError).timeoutMs).toBe(100);
  });

  it("lets a call in flight live on when its timeout is raised before it runs out", async () => {
    let limit = 100;
    setTimeout(() => (limit = 2_000), 50);
    const answer = await client.fetchPairs([MINT], { timeoutMs: () => limit });
    expect(answer).toEqual({ pairs: [], rejected: [] });
  });

  it("still times out a call whose timeout stays below the answer's time, saying the timeout it ran out at", async () => {
    let limit = 100;
    setTimeout(() => (limit = 150), 50);
    const err = await client.fetchPairs([MINT], { timeoutMs: () => limit }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect((err as UpstreamTimeoutError).timeoutMs).toBe(150);
  });

  it("tells its owner once when the timeout runs out, and lives on under the timeout the owner raised there", async () => {
    let limit = 100;
    const told: number[] = [];
    const answer = await client.fetchPairs([MINT], {
      timeoutMs: () => limit,
      overrun: (ms) => {
        told.push(ms);
        limit = 2_000;
      },
    });
    expect(answer).toEqual({ pairs: [], rejected: [] });
    // the limit it ran to, at least, even when the timer fires a little early
    expect(told).toHaveLength(1);
    expect(told[0]).toBeGreaterThanOrEqual(100);
  });

  it("times out a call at its timeout when the owner told of the overrun does not raise it, telling it once", async () => {
    let told = 0;
    const err = await client
      .fetchPairs([MINT], { timeoutMs: 100, overrun: () => void told++ })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(told).toBe(1);
  });

  it("times out past a raised timeout the call outlives too, without telling the owner again", async () => {
    let limit = 100;
    let told = 0;
    const err = await client
      .fetchPairs([MINT], {
        timeoutMs: () => limit,
        overrun: () => {
          told++;
          limit = 200;
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect((err as UpstreamTimeoutError).timeoutMs).toBe(200);
    expect(told).toBe(1);
  });

  it("keeps its deadline when the owner told of the overrun throws", async () => {
    const err = await client
      .fetchPairs([MINT], {
        timeoutMs: 100,
        overrun: () => {
          throw new Error("the owner failed");
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
  });

  it("does not tell the owner of a call that answers within its timeout", async () => {
    let told = 0;
    const answer = await client.fetchPairs([MINT], { timeoutMs: 2_000, overrun: () => void told++ });
    expect(answer).toEqual({ pairs: [], rejected: [] });
    expect(told).toBe(0);
  });
});

// The controller's connection rules read how full the worker's connection pool was: each call
// counts the calls it finds already waiting for a connection.
describe("the upstream client's connection queue", () => {
  it("counts the calls waiting for a connection: none while calls fit the pool, a queue past it", async () => {
    const client = createUpstreamClient({ baseUrl: urlOf(server), connections: 2 });
    try {
      expect(client.takeConnectionQueue()).toEqual({ calls: 0, waitingSum: 0, connections: 2 });
      // One at a time: every call finds a free connection.
      for (let i = 0; i < 3; i++) await client.fetchPairs([MINT], { timeoutMs: 5_000 });
      const alone = client.takeConnectionQueue();
      expect(alone).toEqual({ calls: 3, waitingSum: 0, connections: 2 });
      expect(connectionQueueDepth(alone)).toBe(0);

      // Ten at once on two connections: the calls after the first two find the others waiting.
      await Promise.all(Array.from({ length: 10 }, () => client.fetchPairs([MINT], { timeoutMs: 5_000 })));
      const crowded = client.takeConnectionQueue();
      expect(crowded.calls).toBe(10);
      // the n-th call finds up to n-1 ahead of it, two of them on the wire: 0+0+1+...+8 = 36 at most
      expect(crowded.waitingSum).toBeGreaterThanOrEqual(20);
      expect(crowded.waitingSum).toBeLessThanOrEqual(45);
      expect(connectionQueueDepth(crowded)).toBeGreaterThanOrEqual(1);
      // a take starts a new count
      expect(client.takeConnectionQueue()).toEqual({ calls: 0, waitingSum: 0, connections: 2 });
    } finally {
      await client.close();
    }
  });
});
