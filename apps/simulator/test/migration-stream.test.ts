import { pairsSchema } from "@moonfleet/scoring";
import type { PairInput } from "@moonfleet/scoring";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { GREETING, MigrationFeed, OVERSIZED_FRAME_BYTES, isMintLike } from "../src/index.js";
import type { SimulatorStats } from "../src/index.js";
import { StreamClient, decodeBase58, parseMigration, sleep, waitFor } from "./stream-client.js";
import { getJson, meetsActivationRule, sendJson, startSimulator } from "./support.js";

const MINUTE = 60_000;

async function streamStats(url: string): Promise<SimulatorStats["stream"]> {
  return ((await getJson(`${url}/admin/stats`)).body as SimulatorStats).stream;
}

describe("migration stream: protocol", () => {
  it("greets on subscribeMigration, then announces migrations; nothing before the subscription", async () => {
    const { url } = await startSimulator({ settings: { migrationsPerMinute: 1_200 } });
    const client = await StreamClient.open(url, "/api/data?api-key=test-key");
    await sleep(500);
    expect(client.frames).toEqual([]);
    expect((await streamStats(url)).migrations.announced).toBe(0);

    client.subscribe();
    await waitFor(() => client.migrations().length >= 5, 10_000, "five migrations");
    expect(JSON.parse(client.frames[0] ?? "")).toEqual(GREETING);
    expect(parseMigration(client.frames[0] ?? "")).toBeNull();
    for (const migration of client.migrations()) {
      expect(migration).toMatchObject({ txType: "migrate", pool: expect.any(String) as unknown });
      expect(typeof migration.name).toBe("string");
      expect(typeof migration.symbol).toBe("string");
    }
    const stats = await streamStats(url);
    expect(stats).toMatchObject({ open: 1, accepted: 1, withApiKey: 1, subscribes: 1 });
    expect(stats.migrations.delivered).toBeGreaterThanOrEqual(5);
  }, 20_000);

  it("varies the envelope and puts a ms timestamp on most messages", async () => {
    const { url } = await startSimulator({ settings: { migrationsPerMinute: 6_000 } });
    const client = await StreamClient.open(url);
    client.subscribe();
    await waitFor(() => client.migrations().length >= 60, 15_000, "60 migrations");
    const frames = client.frames.slice(1).map((f) => JSON.parse(f) as Record<string, unknown>);
    const wrapped = frames.filter((f) => "data" in f).length;
    expect(wrapped).toBeGreaterThan(0);
    expect(wrapped).toBeLessThan(frames.length);
    const stamped = client.migrations().filter((m) => typeof m.timestamp === "number");
    expect(stamped.length).toBeGreaterThan(client.migrations().length / 2);
    for (const m of stamped) expect(Math.abs((m.timestamp ?? 0) - Date.now())).toBeLessThan(MINUTE);
  }, 20_000);

  it("follows migrationsPerMinute, set at runtime through PATCH /admin/settings", async () => {
    const { url } = await startSimulator({ settings: { migrationsPerMinute: 0 } });
    const client = await StreamClient.open(url);
    client.subscribe();
    await sleep(1_000);
    expect(client.migrations()).toHaveLength(0);

    const patched = await sendJson(`${url}/admin/settings`, "PATCH", { migrationsPerMinute: 1_200 });
    expect(patched.status).toBe(200);
    const started = Date.now();
    await sleep(3_000);
    const seconds = (Date.now() - started) / 1000;
    const count = client.migrations().length;
    // 20 per second expected: wide bounds, this is not a timing test.
    expect(count).toBeGreaterThan(seconds * 20 * 0.4);
    expect(count).toBeLessThan(seconds * 20 * 1.6);

    await sendJson(`${url}/admin/settings`, "PATCH", { migrationsPerMinute: 0 });
    const stopped = client.migrations().length;
    await sleep(1_000);
    expect(client.migrations().length).toBe(stopped);
    expect((await sendJson(`${url}/admin/settings`, "PATCH", { migrationsPerMinute: -1 })).status).toBe(400);
  }, 20_000);

  it("refuses upgrades on other paths and counts connections, the most at once and subscriptions", async () => {
    const { sim, url } = await startSimulator({ settings: { migrationsPerMinute: 0 } });
    await expect(StreamClient.open(url, "/api/other")).rejects.toThrow("404");
    const clients = await Promise.all([1, 2, 3].map(() => StreamClient.open(url)));
    for (const c of clients) c.subscribe();
    await waitFor(() => clients.every((c) => c.frames.length === 1), 5_000, "three greetings");
    for (const c of clients.slice(0, 2)) c.ws.close();
    await waitFor(() => sim.stats().stream.open === 1, 5_000, "one left open");
    expect(await streamStats(url)).toMatchObject({
      open: 1,
      maxOpen: 3,
      accepted: 3,
      rejected: 1,
      subscribes: 3,
    });
    // Bad client messages are counted and do not close the connection.
    const last = clients[2];
    last?.ws.send("not json");
    last?.ws.send(JSON.stringify({ nomethod: 1 }));
    await waitFor(() => sim.stats().stream.badMessages === 2, 5_000, "two bad messages");
    expect(last?.ws.readyState).toBe(WebSocket.OPEN);
    // A reset keeps the connections open now as the new maximum.
    sim.resetStats();
    expect(sim.stats().stream).toMatchObject({ open: 1, maxOpen: 1, accepted: 0, subscribes: 0 });
  }, 20_000);
});

describe("migration stream: mints and their markets", () => {
  it("announces unique 32-byte base58 mints that the DexScreener endpoints answer from then on", async () => {
    const { url } = await startSimulator({ settings: { migrationsPerMinute: 6_000 } });
    const client = await StreamClient.open(url);
    client.subscribe();
    await waitFor(() => client.migrations().length >= 60, 15_000, "60 migrations");
    await sendJson(`${url}/admin/settings`, "PATCH", { migrationsPerMinute: 0 });
    const announced = (await streamStats(url)).migrations.recent;
    await waitFor(() => client.migrations().length === announced.length, 5_000, "every announced mint");
    const mints = client.migrations().map((m) => m.mint);
    expect(new Set(mints).size).toBe(mints.length);
    for (const mint of mints) {
      expect(isMintLike(mint)).toBe(true);
      expect(decodeBase58(mint)).toHaveLength(32);
    }
    expect(mints).toEqual(announced.map((a) => a.mint));

    const kinds = new Set(announced.map((a) => a.kind));
    expect(kinds.has("active")).toBe(true);
    expect(kinds.has("monitoring")).toBe(true);
    for (const { mint, kind, at } of announced.slice(0, 60)) {
      const answer = await getJson(`${url}/token-pairs/v1/solana/${mint}`);
      const pairs = pairsSchema.parse(answer.body);
      if (kind === "dead") {
        expect(pairs).toEqual([]);
        continue;
      }
      expect(pairs.length).toBeGreaterThan(0);
      for (const pair of pairs) {
        expect(pair.baseToken.address).toBe(mint);
        // Pools are created at the migration, not before.
        expect(pair.pairCreatedAt ?? 0).toBeGreaterThanOrEqual(at);
      }
    }
    // The markets exist from the migration on: nothing a moment before the first one.
    await sendJson(`${url}/admin/settings`, "PATCH", {
      frozenAt: Math.min(...announced.map((a) => a.at)) - 1,
    });
    const before = await getJson(
      `${url}/tokens/v1/solana/${announced
        .slice(0, 30)
        .map((a) => a.mint)
        .join(",")}`,
    );
    expect(before.body).toEqual([]);
  }, 30_000);

  it("lets some migrated mints grow liquid and activate while most never do", async () => {
    const { url } = await startSimulator({ settings: { migrationsPerMinute: 6_000 } });
    const client = await StreamClient.open(url);
    client.subscribe();
    await waitFor(() => client.migrations().length >= 200, 20_000, "200 migrations");
    const announced = (await streamStats(url)).migrations.recent.slice(0, 200);
    await sendJson(`${url}/admin/settings`, "PATCH", { migrationsPerMinute: 0 });
    const last = Math.max(...announced.map((a) => a.at));
    // The market clock stands at `offsetMs` after the last migration; the batch endpoint answers.
    const activeAt = async (offsetMs: number) => {
      await sendJson(`${url}/admin/settings`, "PATCH", { frozenAt: last + offsetMs });
      const pairs: PairInput[] = [];
      for (let i = 0; i < announced.length; i += 30) {
        const batch = announced.slice(i, i + 30).map((a) => a.mint);
        pairs.push(...pairsSchema.parse((await getJson(`${url}/tokens/v1/solana/${batch.join(",")}`)).body));
      }
      return announced.filter((a) => meetsActivationRule(a.mint, pairs));
    };
    const atStart = await activeAt(0);
    const later = await activeAt(30 * MINUTE);
    expect(later.length).toBeGreaterThan(atStart.length);
    expect(later.length).toBeGreaterThan(10);
    expect(later.length).toBeLessThan(announced.length / 2);
    for (const a of later) expect(["active", "fading"]).toContain(a.kind);
  }, 30_000);

  it("is deterministic from the seed", () => {
    const take = (seed: string) => {
      const feed = new MigrationFeed(seed);
      return Array.from({ length: 20 }, () => feed.next());
    };
    expect(take("a")).toEqual(take("a"));
    expect(take("a").map((m) => m.mint)).not.toEqual(take("b").map((m) => m.mint));
  });
});

describe("migration stream: faults", () => {
  it("dropConnections cuts every connection now; a bad value is a 400 that drops nothing", async () => {
    const { sim, url } = await startSimulator({ settings: { migrationsPerMinute: 0 } });
    const clients = await Promise.all([1, 2].map(() => StreamClient.open(url)));
    await waitFor(() => sim.stats().stream.open === 2, 5_000, "two open");

    const bad = await sendJson(`${url}/admin/settings`, "PATCH", { dropConnections: "yes", junkRate: 0.5 });
    expect(bad.status).toBe(400);
    expect((bad.body as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    await sleep(200);
    expect(sim.stats().stream.open).toBe(2);
    expect(sim.settings.get().junkRate).toBe(0);

    const ok = await sendJson(`${url}/admin/settings`, "PATCH", { dropConnections: true });
    expect(ok.status).toBe(200);
    expect(ok.body).not.toHaveProperty("dropConnections");
    const codes = await Promise.all(clients.map((c) => c.closed));
    // 1006: the connection ended without a close frame, as when the network drops it.
    expect(codes).toEqual([{ code: 1006 }, { code: 1006 }]);
    await waitFor(() => sim.stats().stream.open === 0, 5_000, "none open");
    expect(sim.stats().stream).toMatchObject({ dropped: 2, maxOpen: 2 });

    await StreamClient.open(url);
    const dropped = await sendJson(`${url}/admin/stream/drop`, "POST", {});
    expect(dropped.body).toEqual({ dropped: 1 });
  }, 20_000);

  it("junkRate 1 sends a junk frame of each kind before migrations, which still arrive", async () => {
    const { sim, url } = await startSimulator({ settings: { migrationsPerMinute: 1_200, junkRate: 1 } });
    const client = await StreamClient.open(url);
    client.subscribe();
    await waitFor(() => client.migrations().length >= 8, 15_000, "eight migrations");
    const frames = client.frames.slice(1);
    const notJson = frames.filter((f) => {
      try {
        JSON.parse(f);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson.length).toBeGreaterThan(0);
    const objects = frames
      .filter((f) => !notJson.includes(f))
      .map((f) => JSON.parse(f) as Record<string, unknown>);
    expect(objects.some((o) => o.txType === "migrate" && !("mint" in o) && !("data" in o))).toBe(true);
    const badMints = client.migrations().filter((m) => !isMintLike(m.mint));
    expect(badMints.length).toBeGreaterThan(0);
    expect(frames.some((f) => f.length > OVERSIZED_FRAME_BYTES)).toBe(true);
    const good = client.migrations().filter((m) => isMintLike(m.mint));
    expect(good.length).toBeGreaterThanOrEqual(4);
    const { junk } = sim.stats().stream;
    for (const kind of ["text", "noMint", "badMint", "oversized"] as const)
      expect(junk[kind]).toBeGreaterThan(0);
  }, 20_000);

  it("an oversized junk frame breaks the connection of a client that caps its frames", async () => {
    const { url } = await startSimulator({ settings: { migrationsPerMinute: 1_200, junkRate: 1 } });
    const client = await StreamClient.open(url, "/api/data", 64 * 1024);
    client.subscribe();
    await client.closed;
    expect(client.errors.map((e) => e.message)).toContain("Max payload size exceeded");
  }, 20_000);

  it("answerPings false leaves pings unanswered; true answers them again", async () => {
    const { sim, url } = await startSimulator({ settings: { migrationsPerMinute: 0, answerPings: false } });
    const client = await StreamClient.open(url);
    let pongs = 0;
    client.ws.on("pong", () => pongs++);
    client.ws.ping("a");
    await waitFor(() => sim.stats().stream.pingsReceived === 1, 5_000, "the ping");
    await sleep(1_000);
    expect(pongs).toBe(0);
    expect(sim.stats().stream.pingsAnswered).toBe(0);

    expect((await sendJson(`${url}/admin/settings`, "PATCH", { answerPings: true })).status).toBe(200);
    client.ws.ping("b");
    await waitFor(() => pongs === 1, 5_000, "the pong");
    expect(sim.stats().stream).toMatchObject({ pingsReceived: 2, pingsAnswered: 1 });
  }, 20_000);
});
