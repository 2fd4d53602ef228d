import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Queue, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bullPrefix, type Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { silentLogger, testLive, testRedis, uniquePrefix, waitUntil } from "../support/harness.js";

const ADMIN_TOKEN = "test-admin-token-0123456789";
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const ADMIN_BASIC = { authorization: basic("admin", ADMIN_TOKEN) };
const ADMIN_BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CLEAN_COMPLETED = "/admin/queues/api/queues/hot/clean/completed";
const RETRY_FAILED = "/admin/queues/api/queues/hot/retry/failed";

type Counts = Record<string, number>;
interface BoardQueue {
  readonly name: string;
  readonly counts: Counts;
  readonly readOnlyMode: boolean;
  readonly allowRetries: boolean;
}

interface Api {
  readonly base: string;
  readonly prefix: string;
  close(): Promise<void>;
}

const redises: Redis[] = [];
const apis: Api[] = [];

afterAll(async () => {
  await Promise.all(apis.map((a) => a.close()));
  await Promise.all(redises.map((r) => r.quit().catch(() => undefined)));
});

/** A real api on a loopback port and its own key prefix; env in settings form. */
async function startApi(env: Record<string, string>): Promise<Api> {
  const redis = testRedis("bull-board-test");
  redises.push(redis);
  const prefix = uniquePrefix();
  const closers: Array<() => Promise<void>> = [];
  const app = createApiApp({
    live: testLive({ REDIS_KEY_PREFIX: prefix, ...env }, redis),
    redis,
    store: new TokenStore(redis, prefix),
    logger: silentLogger(),
    onClose: (close) => closers.push(close),
  });
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const api: Api = {
    base: `http://127.0.0.1:${port}`,
    prefix,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all(closers.map((close) => close()));
    },
  };
  apis.push(api);
  return api;
}

/**
 * Gives each queue something to show: hot gets 1 completed, 1 failed and 3 waiting jobs, cold
 * 1 completed and 2 waiting (a worker runs the first jobs, then stops before the waiting ones).
 */
async function seed(prefix: string): Promise<void> {
  const connection = testRedis("bull-board-seed");
  redises.push(connection);
  const opts = { connection, prefix: bullPrefix(prefix) };
  const hot = new Queue("hot", opts);
  const cold = new Queue("cold", opts);
  const job = (lane: "hot" | "cold", mint: string) => ({ lane, mints: [mint], claimedAt: Date.now() });
  await hot.add("batch", job("hot", "done-hot"));
  await hot.add("batch", job("hot", "fails"), { attempts: 1 });
  await cold.add("batch", job("cold", "done-cold"));
  const processor = (j: { data: { mints: string[] } }) =>
    j.data.mints[0] === "fails"
      ? Promise.reject(new Error("seeded failure"))
      : Promise.resolve({ scored: 1, skipped: 0, failed: 0, durationMs: 1 });
  const workers = [new Worker("hot", processor, opts), new Worker("cold", processor, opts)];
  await waitUntil("seed jobs to finish", async () => {
    const [h, c] = await Promise.all([hot.getJobCounts(), cold.getJobCounts()]);
    return h.completed === 1 && h.failed === 1 && c.completed === 1;
  });
  await Promise.all(workers.map((w) => w.close()));
  for (const mint of ["w1", "w2", "w3"]) await hot.add("batch", job("hot", mint));
  for (const mint of ["w4", "w5"]) await cold.add("batch", job("cold", mint));
  await Promise.all([hot.close(), cold.close()]);
}

async function boardQueues(api: Api): Promise<Map<string, BoardQueue>> {
  const res = await fetch(`${api.base}/admin/queues/api/queues`, { headers: ADMIN_BASIC });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { queues: BoardQueue[] };
  return new Map(body.queues.map((q) => [q.name, q]));
}

describe("Bull Board at /admin/queues", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ ADMIN_TOKEN });
    await seed(api.prefix);
  });

  it("asks for a login without credentials: 401 with a Basic challenge", async () => {
    for (const path of [
      "/admin/queues",
      "/admin/queues/api/queues",
      "/admin/queues/static/favicon-32x32.png",
    ]) {
      const res = await fetch(`${api.base}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate"), path).toBe('Basic realm="moonfleet"');
    }
  });

  it("refuses a wrong password, a wrong user, a wrong bearer token and a malformed header", async () => {
    const refused = [
      basic("admin", "not-the-admin-token-000"),
      basic("admin", ""),
      basic("root", ADMIN_TOKEN),
      basic("", ADMIN_TOKEN),
      `Bearer ${ADMIN_TOKEN}x`,
      "Bearer ",
      `Basic ${Buffer.from(`admin${ADMIN_TOKEN}`).toString("base64")}`,
      `Basic not base64!`,
      ADMIN_TOKEN,
    ];
    for (const authorization of refused) {
      const res = await fetch(`${api.base}/admin/queues/api/queues`, { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="moonfleet"');
    }
  });

  it("serves the page with Basic admin:<ADMIN_TOKEN> and with the bearer token", async () => {
    for (const headers of [ADMIN_BASIC, ADMIN_BEARER]) {
      const res = await fetch(`${api.base}/admin/queues`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
      // The page's assets are addressed relative to the mount, so the browser finds them.
      expect(await res.text()).toContain('<base href="/admin/queues/" />');
    }
  });

  it("lists the hot and cold queues with the seeded jobs", async () => {
    const queues = await boardQueues(api);
    expect([...queues.keys()].sort()).toEqual(["cold", "hot"]);
    expect(queues.get("hot")?.counts).toMatchObject({ waiting: 3, completed: 1, failed: 1 });
    expect(queues.get("cold")?.counts).toMatchObject({ waiting: 2, completed: 1 });
    expect(queues.get("hot")?.readOnlyMode).toBe(false);
  });

  it("refuses mutating actions without credentials and leaves the jobs alone", async () => {
    for (const path of [CLEAN_COMPLETED, RETRY_FAILED]) {
      const res = await fetch(`${api.base}${path}`, { method: "PUT" });
      expect(res.status, path).toBe(401);
      const wrong = await fetch(`${api.base}${path}`, {
        method: "PUT",
        headers: { authorization: basic("admin", "not-the-admin-token-000") },
      });
      expect(wrong.status, path).toBe(401);
    }
    expect((await boardQueues(api)).get("hot")?.counts).toMatchObject({ completed: 1, failed: 1 });
  });

  it("runs a mutating action with credentials (the refusals above are not for a missing route)", async () => {
    const res = await fetch(`${api.base}${RETRY_FAILED}`, { method: "PUT", headers: ADMIN_BEARER });
    expect(res.status).toBe(200);
    const hot = (await boardQueues(api)).get("hot");
    expect(hot?.counts).toMatchObject({ failed: 0, waiting: 4 });
  });

  it("leaves the JSON admin API on bearer tokens only", async () => {
    const res = await fetch(`${api.base}/tokens/some-mint`, { method: "DELETE", headers: ADMIN_BASIC });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="moonfleet"');
  });
});

describe("Bull Board with BULL_BOARD_READ_ONLY=true", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ ADMIN_TOKEN, BULL_BOARD_READ_ONLY: "true" });
    await seed(api.prefix);
  });

  it("still needs the login, and shows both queues as read-only with it", async () => {
    expect((await fetch(`${api.base}/admin/queues/api/queues`)).status).toBe(401);
    const queues = await boardQueues(api);
    expect([...queues.keys()].sort()).toEqual(["cold", "hot"]);
    for (const q of queues.values()) expect(q).toMatchObject({ readOnlyMode: true, allowRetries: false });
  });

  it("refuses clean, retry and pause with credentials (405) and changes nothing", async () => {
    for (const path of [CLEAN_COMPLETED, RETRY_FAILED, "/admin/queues/api/queues/hot/pause"]) {
      const anonymous = await fetch(`${api.base}${path}`, { method: "PUT" });
      expect(anonymous.status, path).toBe(401);
      const res = await fetch(`${api.base}${path}`, { method: "PUT", headers: ADMIN_BASIC });
      // Bull Board answers a read-only queue's actions with 405 QUEUE_READ_ONLY.
      expect(res.status, path).toBe(405);
    }
    const hot = (await boardQueues(api)).get("hot");
    expect(hot?.counts).toMatchObject({ completed: 1, failed: 1, waiting: 3 });
  });
});

describe("Bull Board login settings", () => {
  it("refuses every login without ADMIN_TOKEN: there is no open default", async () => {
    const api = await startApi({});
    for (const authorization of [basic("admin", ""), basic("admin", "undefined"), "Bearer undefined"]) {
      const res = await fetch(`${api.base}/admin/queues`, { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "admin endpoints are disabled: ADMIN_TOKEN is not set" });
    }
  });

  it("takes ADMIN_USER as the Basic user name", async () => {
    const api = await startApi({ ADMIN_TOKEN, ADMIN_USER: "operator" });
    const as = async (user: string) =>
      (
        await fetch(`${api.base}/admin/queues/api/queues`, {
          headers: { authorization: basic(user, ADMIN_TOKEN) },
        })
      ).status;
    expect(await as("operator")).toBe(200);
    expect(await as("admin")).toBe(401);
  });
});
