import { spawn } from "node:child_process";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { redisUrl, uniquePrefix, waitUntil } from "../support/harness.js";

// Issue 20 item 6: 20,200 slow connections (slowloris) made the api unreachable for their 30 s,
// with nothing logged: past the process's open-file limit (20,000 there) it could accept nothing.
// Scaled down: the real api under an open-file limit of 2,048 and 3,000 slow sockets, each sending
// a header byte now and then for 20 s. Throughout, /livez answers a fresh connection within 1 s,
// and the api says once per interval that it hit its connection cap.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OPEN_FILES = 2_048;
const SOCKETS = 3_000;
const ATTACK_MS = 20_000;
const LIVEZ_DEADLINE_MS = 1_000;

const cleanup: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

/** GET on a new connection (no agent, no keep-alive): status and milliseconds, or 0 on a timeout/error. */
function freshGet(port: number, path: string, timeoutMs: number): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path, agent: false, headers: { connection: "close" }, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.once("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", () => resolve({ status: 0, ms: performance.now() - started }));
    req.end();
  });
}

describe("slowloris against the api", () => {
  it("keeps /livez answering within 1 s while 3,000 slow connections trickle headers for 20 s", async () => {
    const port = await freePort();
    const child = spawn(
      "prlimit",
      [`--nofile=${OPEN_FILES}:${OPEN_FILES}`, process.execPath, `${ROOT}apps/api/dist/main.js`],
      {
        env: {
          PATH: process.env.PATH ?? "",
          LOG_LEVEL: "warn",
          REDIS_URL: redisUrl(),
          REDIS_KEY_PREFIX: uniquePrefix(),
          API_PORT: String(port),
          API_HOST: "127.0.0.1",
          // Under the open-file limit, with room for Redis connections and the process's own files.
          API_MAX_CONNECTIONS: "1500",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    cleanup.push(async () => {
      child.kill("SIGKILL");
      await exited;
    });
    await waitUntil("the api to answer", async () => (await freshGet(port, "/livez", 1_000)).status === 200);

    // The attack: every socket sends a partial request, then one header line every ~3 s.
    const sockets: Socket[] = [];
    let connected = 0;
    for (let i = 0; i < SOCKETS; i++) {
      const s = connect({ host: "127.0.0.1", port });
      s.on("error", () => undefined);
      s.once("connect", () => {
        connected++;
        s.write("GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      });
      sockets.push(s);
    }
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    const trickle = setInterval(() => {
      for (const s of sockets)
        if (!s.destroyed && s.writable) s.write(`X-Slow-${Math.random() * 1e6}: 1\r\n`);
    }, 3_000);
    cleanup.push(() => clearInterval(trickle));
    await waitUntil("the slow sockets to connect", () => connected >= 1_500, 10_000, 50);
    // Probe the held attack, not the burst of 3,000 connects that opens it (a connect flood is a
    // different attack): wait until every socket has connected or been shed.
    await waitUntil(
      "the connect burst to settle",
      () => sockets.every((s) => s.destroyed || !s.connecting),
      10_000,
      50,
    );
    // A socket is connected once the kernel has it; the api may still be accepting (and shedding past
    // its cap) the rest of the burst from its backlog. One fresh GET answered ends the burst: a
    // first probe behind it once took 1,031 ms, the next ones 4-6 ms.
    await waitUntil(
      "the api to take the burst",
      async () => (await freshGet(port, "/livez", 5_000)).status === 200,
    );

    const probes: Array<{ status: number; ms: number }> = [];
    const attackEnds = Date.now() + ATTACK_MS;
    while (Date.now() < attackEnds) {
      probes.push(await freshGet(port, "/livez", 5_000));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    clearInterval(trickle);

    const slow = probes.filter((p) => p.status !== 200 || p.ms > LIVEZ_DEADLINE_MS);
    expect(probes.length).toBeGreaterThanOrEqual(10);
    expect(slow, `probes: ${JSON.stringify(probes.map((p) => [p.status, Math.round(p.ms)]))}`).toEqual([]);
    // The cap being reached was logged, with counts, and not once per connection.
    const limitLines = out.split("\n").filter((l) => l.includes('"event":"connection_limit"'));
    expect(limitLines.length, out.slice(-2_000)).toBeGreaterThanOrEqual(1);
    expect(limitLines.length).toBeLessThanOrEqual(Math.ceil(ATTACK_MS / 10_000) + 2);
    expect(limitLines[0]).toMatch(/"maxConnections":1500/);
    expect(child.exitCode).toBeNull();
  }, 90_000);
});
