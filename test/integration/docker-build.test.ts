import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "@moonfleet/domain";
import { TokenStore } from "@moonfleet/store";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { redisUrl, testRedis, uniquePrefix, waitUntil } from "../support/harness.js";

// The Dockerfile, built without Docker (there may be no engine where the tests run): the build
// context is the repo filtered by .dockerignore, and each stage's COPY, ENV, WORKDIR and RUN lines
// are carried out in a directory of their own, in order, with the commands the Dockerfile names.
// Then the apps run from the final stage's files alone, as the container would run them.

const root = fileURLToPath(new URL("../../", import.meta.url));

interface Instruction {
  readonly op: string;
  readonly args: string;
}

function parseDockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

/** .dockerignore rules as Docker applies them: the last matching pattern wins, `!` re-includes. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, "");
      const source = pattern
        .split("/")
        .map((part) =>
          part === "**"
            ? "(?:.*/)?"
            : `${part
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]")}/`,
        )
        .join("")
        .replace(/\/$/, "");
      // A pattern that names a directory excludes everything under it.
      return { negate, pattern, re: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = !r.negate;
    return excluded;
  };
}

/** Copies the build context (the repo minus .dockerignore) into `dest`. */
function copyContext(dest: string): number {
  const excluded = dockerignore(readFileSync(join(root, ".dockerignore"), "utf8"));
  const reincluded = readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("!"))
    .map((l) => l.slice(1).trim());
  let files = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Skip excluded trees unless something inside is re-included.
        if (excluded(path) && !reincluded.some((r) => r.startsWith(`${path}/`))) continue;
        walk(path);
      } else if (!excluded(path)) {
        mkdirSync(join(dest, dir), { recursive: true });
        cpSync(join(root, path), join(dest, path));
        files++;
      }
    }
  };
  walk("");
  return files;
}

function sh(command: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("/bin/sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("exit", (code) => resolve({ code, output }));
  });
}

interface Stage {
  readonly name: string;
  readonly dir: string;
  workdir: string;
  user: string;
  readonly env: Record<string, string>;
  cmd: string[];
  healthcheck: string[];
}

const jsonArgs = (args: string) => JSON.parse(args.replace(/^.*?CMD\s+/, "")) as string[];

/** Carries out the Dockerfile's stages in `work`; RUN lines run with the stage's env in its workdir. */
async function build(work: string, context: string, log: (line: string) => void) {
  const stages: Stage[] = [];
  const at = (stage: Stage, path: string) =>
    join(stage.dir, path.startsWith("/") ? path : join(stage.workdir, path));
  for (const { op, args } of parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"))) {
    const stage = stages.at(-1);
    if (op === "FROM") {
      const name = /\bAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length);
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      stages.push({ name, dir, workdir: "/", user: "root", env: {}, cmd: [], healthcheck: [] });
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    if (op === "WORKDIR") {
      stage.workdir = args;
      mkdirSync(join(stage.dir, args), { recursive: true });
    } else if (op === "ENV") {
      for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) stage.env[k!] = v!;
    } else if (op === "USER") stage.user = args;
    else if (op === "CMD") stage.cmd = jsonArgs(args);
    else if (op === "HEALTHCHECK") stage.healthcheck = jsonArgs(args);
    else if (op === "EXPOSE") continue;
    else if (op === "COPY") {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
      const paths = words.filter((w) => !w.startsWith("--"));
      const dest = paths.pop()!;
      const source = from ? stages.find((s) => s.name === from) : undefined;
      if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
      for (const src of paths) {
        const abs = source ? at(source, src) : join(context, src);
        if (!existsSync(abs)) throw new Error(`COPY ${src}: not in the ${from ?? "build context"}`);
        // A file copied to `dir/` keeps its name; a directory's contents go into dest.
        const target =
          dest.endsWith("/") && !src.endsWith("/")
            ? join(at(stage, dest), src.split("/").at(-1)!)
            : at(stage, dest);
        mkdirSync(dirname(target), { recursive: true });
        cpSync(abs, target, { recursive: true, verbatimSymlinks: true });
      }
    } else if (op === "RUN") {
      const started = Date.now();
      const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...stage.env };
      const r = await sh(args, at(stage, "."), env);
      log(`RUN ${args} (${stage.name}): exit ${r.code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (r.code !== 0) throw new Error(`RUN ${args} failed with ${r.code}:\n${r.output.slice(-3_000)}`);
    } else throw new Error(`Dockerfile instruction this test does not know: ${op}`);
  }
  return stages;
}

interface Running {
  readonly exited: Promise<number | null>;
  readonly output: () => string;
  readonly kill: (signal: NodeJS.Signals) => void;
}

describe("the Dockerfile's build steps, run without Docker from a clean build context", () => {
  const work = mkdtempSync(join(tmpdir(), "moonfleet-image-"));
  const steps: string[] = [];
  const running: Running[] = [];
  let image: Stage;
  let app: string; // the final stage's WORKDIR, as the container sees it
  let contextFiles = 0;
  let buildSeconds = 0;
  const redis = testRedis();

  beforeAll(async () => {
    const started = Date.now();
    const context = join(work, "context");
    contextFiles = copyContext(context);
    const stages = await build(work, context, (l) => steps.push(l));
    image = stages.at(-1)!;
    app = join(image.dir, image.workdir);
    buildSeconds = (Date.now() - started) / 1000;
  }, 240_000);

  afterAll(async () => {
    for (const p of running) p.kill("SIGKILL");
    await Promise.all(running.map((p) => p.exited));
    await redis.quit();
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs a command in the final stage's files with the image's env, as `docker run` would. */
  function inImage(argv: string[], env: Record<string, string>): Running {
    const [cmd, ...args] = argv;
    const child = spawn(cmd === "node" ? process.execPath : cmd!, args, {
      cwd: app,
      env: { PATH: process.env.PATH ?? "", ...image.env, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const p: Running = {
      exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
      output: () => out,
      kill: (signal) => void child.kill(signal),
    };
    running.push(p);
    return p;
  }
  const appMain = (name: string) => ["node", `apps/${name}/dist/main.js`];

  it("builds: npm ci, tsc -b and the prune succeed from a context without node_modules or dist", () => {
    expect(contextFiles).toBeGreaterThan(50);
    expect(existsSync(join(work, "context", "node_modules"))).toBe(false);
    expect(existsSync(join(work, "context", "test"))).toBe(false);
    expect(steps.map((s) => s.split(" (")[0])).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^RUN npm ci/),
        "RUN npx tsc -b",
        expect.stringMatching(/^RUN npm prune --omit=dev/),
      ]),
    );
    console.info(`image build without Docker: ${buildSeconds.toFixed(1)} s\n  ${steps.join("\n  ")}`);
  });

  it("leaves every app's dist/main.js, production dependencies only, the healthcheck script, NODE_ENV=production", async () => {
    for (const name of ["api", "producer", "worker", "simulator", "discovery"])
      expect(existsSync(join(app, "apps", name, "dist", "main.js")), name).toBe(true);
    // Every installed package is one the production tree needs (typescript stays only as an
    // optional peer of valibot, under @bull-board/api); the dev tools are gone.
    const ls = await sh("npm ls --omit=dev --all --parseable", app, { PATH: process.env.PATH ?? "" });
    const production = new Set(ls.output.split("\n").map((l) => relative(app, l.trim())));
    const installed = readdirSync(join(app, "node_modules"))
      .filter((d) => !d.startsWith("."))
      .flatMap((d) =>
        d.startsWith("@") ? readdirSync(join(app, "node_modules", d)).map((s) => `${d}/${s}`) : [d],
      );
    expect(installed.length).toBeGreaterThan(20);
    for (const name of installed) expect(production.has(`node_modules/${name}`), name).toBe(true);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    for (const dev of Object.keys(pkg.devDependencies).filter((d) => !production.has(`node_modules/${d}`)))
      expect(existsSync(join(app, "node_modules", dev)), dev).toBe(false);
    for (const tool of ["vitest", "eslint", "prettier"])
      expect(existsSync(join(app, "node_modules", tool)), tool).toBe(false);
    expect(existsSync(join(app, "node_modules", "bullmq"))).toBe(true);
    expect(existsSync(join(app, image.healthcheck[1]!))).toBe(true);
    expect(image.env.NODE_ENV).toBe("production");
    expect(image.user).toBe("node");
    // The workspace links resolve inside the image, not back into the repo.
    expect(relative(app, join(app, "node_modules", "@moonfleet", "config"))).toBe(
      "node_modules/@moonfleet/config",
    );
    expect(readdirSync(join(app, "node_modules", "@moonfleet", "config", "dist"))).toContain("index.js");
  });

  it.each(["api", "worker"])("%s: a bad setting exits 1 with one readable line", async (name) => {
    const p = inImage(appMain(name), { REDIS_URL: redisUrl(), MAX_CONCURRENT_HOT: "abc" });
    expect(await p.exited).toBe(1);
    expect(p.output().trim().split("\n")).toHaveLength(1);
    expect(p.output()).toContain("MAX_CONCURRENT_HOT");
  });

  it("runs the fleet from the image's files: tokens are scored, the healthchecks pass, SIGTERM exits 0", async () => {
    const prefix = uniquePrefix();
    const [apiPort, simPort] = [await freePort(), await freePort()];
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: prefix,
      UPSTREAM_URL: `http://127.0.0.1:${simPort}`,
      SIMULATOR_PORT: String(simPort),
      SIMULATOR_LATENCY_MS: "0",
      SIMULATOR_JITTER_MS: "0",
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      ADMIN_TOKEN: "docker-build-test-admin-token",
      PRODUCER_TICK_MS: "200",
      DISCOVERY_URL: `ws://127.0.0.1:${simPort}/api/data`,
      SIMULATOR_MIGRATIONS_PER_MINUTE: "120",
    };
    const fleet = Object.fromEntries(
      (["simulator", "api", "producer", "worker", "discovery"] as const).map((name) => [
        name,
        inImage(appMain(name), env),
      ]),
    );
    // The image's own HEALTHCHECK command, on the api (the default CMD).
    expect(image.cmd).toEqual(appMain("api"));
    const healthy = async (argv: string[]) => (await inImage(argv, env).exited) === 0;
    await waitUntil("the api's HEALTHCHECK to pass", () => healthy(image.healthcheck), 20_000, 200);
    await waitUntil(
      "the worker's heartbeat check to pass",
      () => healthy(["node", image.healthcheck[1]!, "worker"]),
      20_000,
      200,
    );

    const mints = demoMints(20, `image-${prefix}`);
    const res = await fetch(`http://127.0.0.1:${apiPort}/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${env.ADMIN_TOKEN}` },
      body: JSON.stringify({ mints }),
    });
    expect(res.status).toBe(201);
    const store = new TokenStore(redis, prefix);
    await waitUntil(
      "the tokens scored",
      async () => (await store.load(mints)).every((x) => Boolean(x?.snapshot)),
      30_000,
      200,
    );

    // Discovery (its ws client is a production dependency) registers what the stream announces.
    await waitUntil(
      "a migration registered by discovery",
      async () => (await redis.zcard(redisKeys(prefix).registry)) > mints.length,
      30_000,
      200,
    );

    for (const p of Object.values(fleet)) p.kill("SIGTERM");
    for (const [name, p] of Object.entries(fleet)) expect(await p.exited, `${name}: ${p.output()}`).toBe(0);
  });
});
