import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { redisUrl, uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// Issue 17: `npx moonfleet`, a thin client of the api, against a running api: every command, the
// refused and unreachable cases, human tables by default and --json for scripts.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ADMIN_TOKEN = "cli-test-admin-token-0123456789";
let api: AppProcess;
let base = "";

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${ROOT}apps/cli/bin/moonfleet.js`, ...args], {
      env: { PATH: process.env.PATH ?? "", MOONFLEET_URL: base, ADMIN_TOKEN, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = runApp("api", {
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: uniquePrefix(),
    API_PORT: String(port),
    API_HOST: "127.0.0.1",
    ADMIN_TOKEN,
  });
  await waitUntil("the api", async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok === true);
});
afterAll(async () => {
  await stopApp(api);
});

describe("npx moonfleet", () => {
  const [m1, m2] = demoMints(2);

  it("prints its usage and exits 2 without a command, or with an unknown one", async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain("usage: moonfleet");
    const unknown = await cli(["fly"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^moonfleet: unknown command "fly"/);
  });

  it("status: a table by default, the health document with --json", async () => {
    const human = await cli(["status"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^fleet http:\/\/127\.0\.0\.1:\d+: \w+, 0 workers/);
    expect(human.stdout).toMatch(/lane\s+tokens\s+tokens\/s/);
    const json = await cli(["status", "--json"]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { lanes: Record<string, unknown> };
    expect(Object.keys(doc.lanes).sort()).toEqual(["cold", "hot"]);
  });

  it("tokens add, ls, show and rm", async () => {
    const add = await cli(["tokens", "add", m1!, m2!]);
    expect(add).toMatchObject({ code: 0, stdout: "2 added, 0 already registered\n" });
    const again = await cli(["tokens", "add", m1!, "--json"]);
    expect(JSON.parse(again.stdout)).toEqual({ added: [], existing: [m1] });

    const ls = await cli(["tokens", "ls", "--status", "monitoring"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(m1);
    expect(ls.stdout).toContain(m2);
    expect(ls.stdout.trim().split("\n").at(-1)).toBe("2 of 2");

    const show = await cli(["tokens", "show", m1!, "--json"]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ mint: m1, status: "monitoring" });

    const rm = await cli(["tokens", "rm", m2!]);
    expect(rm).toMatchObject({ code: 0, stdout: `${m2} removed\n` });
    const gone = await cli(["tokens", "show", m2!]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/answered 404/);
  });

  it("says in one line why the api refused a token", async () => {
    const bad = await cli(["tokens", "add", "not-a-mint"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^moonfleet: POST \/tokens answered 400: .*mint/);
  });

  it("config get, set and reset", async () => {
    const all = await cli(["config", "get"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/CACHE_TTL_HOT\s+15\s+default\s+yes/);
    const set = await cli(["config", "set", "cacheTtlHot=20"]);
    expect(set).toMatchObject({ code: 0, stdout: "applied: cacheTtlHot\n" });
    await waitUntil("the change to apply", async () => {
      const one = JSON.parse((await cli(["config", "get", "CACHE_TTL_HOT", "--json"])).stdout) as Record<
        string,
        { value: number; source: string }
      >;
      return one.cacheTtlHot?.value === 20 && one.cacheTtlHot.source === "runtime";
    });
    const refused = await cli(["config", "set", "cacheTtlHot=abc"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^moonfleet: PATCH \/config answered 400/);
    const reset = await cli(["config", "reset"]);
    expect(reset).toMatchObject({ code: 0, stdout: "runtime overrides cleared\n" });
    const unknown = await cli(["config", "get", "NO_SUCH_SETTING"]);
    expect(unknown.code).toBe(1);
  });

  it("budget shows the upstream budget and clears its pause", async () => {
    const b = await cli(["budget", "--json"]);
    expect(b.code).toBe(0);
    expect(typeof JSON.parse(b.stdout)).toBe("object");
    const clear = await cli(["budget", "clear"]);
    expect(clear).toMatchObject({ code: 0, stdout: "the upstream pause is lifted\n" });
  });

  it("exports: the version and the tokens the bots are served", async () => {
    const human = await cli(["exports"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^export version \d+, 0 tokens\nsymbol\s+mint\s+smoothed\s+pools/);
    const json = await cli(["exports", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ tokens: [] });
  });

  it("refuses admin commands without the admin token, and says what to set", async () => {
    const r = await cli(["tokens", "add", m1!], { ADMIN_TOKEN: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^moonfleet: the api refused the admin token \(401\): set ADMIN_TOKEN/);
  });

  it("says the api cannot be reached, in one line, exit 1", async () => {
    const r = await cli(["status"], { MOONFLEET_URL: `http://127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^moonfleet: cannot reach the moonfleet api at http:\/\/127\.0\.0\.1:\d+ .*set MOONFLEET_URL/,
    );
  });
});
