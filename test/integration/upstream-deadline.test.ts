import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpstreamTimeoutError, createUpstreamClient, type UpstreamClient } from "@moonfleet/upstream";

// A call in flight follows its lane's timeout: when the controller raises it (the first timeout of
// a latency surge does so at once), the calls already on the wire read the new value when theirs
// runs out. The real client over loopback against a server that answers after 300 ms.

const MINT = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";
const ANSWER_MS = 300;
let server: Server;
let client: UpstreamClient;

beforeAll(async () => {
  server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("[]");
    }, ANSWER_MS);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  client = createUpstreamClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
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
});
