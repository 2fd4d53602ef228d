import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { SETTINGS } from "@moonfleet/config";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { redisUrl, startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";
import { kustomizeBuild } from "../support/kustomize.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// docker-compose.yml, the Dockerfile, the Kubernetes manifests and the systemd units, read as data:
// the invariants a `docker compose up`, a `kubectl apply -k` or a `systemctl restart` depends on.

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");
const run = promisify(execFile);

/** SHUTDOWN_TIMEOUT_MS's default: how long a stopping process lets in-flight jobs finish. */
const DEFAULT_DRAIN_MS = Number(SETTINGS.find((s) => s.env === "SHUTDOWN_TIMEOUT_MS")?.default);
/** onShutdown (packages/runtime/src/shutdown.ts) exits by itself this long after the drain time. */
const EXIT_MARGIN_MS = 2_000;
const APPS = ["simulator", "producer", "discovery", "worker", "api"] as const;
const KNOWN_SETTINGS = new Set<string>(SETTINGS.map((s) => s.env));

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A compose duration ("30s", "1m30s", "500ms") in ms. */
function durationMs(v: unknown): number {
  const text = String(v);
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * units[unit!]!;
  return total;
}

/** Compose's `${VAR:-default}` interpolation, for the variables we use. */
const interpolate = (v: unknown, env: Record<string, string>) =>
  String(v).replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, dflt: string) => env[name] || dflt);

/** The app a command runs (`node apps/<app>/dist/main.js`). */
function appOf(command: unknown): string | null {
  const words = Array.isArray(command)
    ? command.map(String)
    : typeof command === "string"
      ? command.split(/\s+/)
      : [];
  for (const w of words) {
    const m = /^apps\/(\w+)\/dist\/main\.js$/.exec(w);
    if (m) return m[1]!;
  }
  return null;
}

describe("docker-compose.yml", () => {
  const compose = obj(parse(read("docker-compose.yml"), { merge: true }));
  const services = obj(compose.services);
  const service = (name: string) => obj(services[name]);
  const appServices = Object.entries(services).filter(([, s]) => appOf(obj(s).command) !== null);

  it("runs redis, the simulator, the producer, the workers and the api, each app from the one image", () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["redis", ...APPS]));
    for (const app of APPS) {
      expect(appOf(service(app).command), app).toBe(app);
      expect(existsSync(join(root, "apps", app, "src", "main.ts")), app).toBe(true);
    }
    for (const [name, s] of appServices) {
      expect(obj(s).build, name).toBe(".");
      expect(obj(s).image, name).toBe("moonfleet:latest");
    }
  });

  it("keeps Redis durable: AOF on, noeviction, a named volume and a ping healthcheck", () => {
    const redis = service("redis");
    expect(redis.image).toBe("redis:7-alpine");
    const command = list(redis.command).map(String).join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toContain("--maxmemory-policy noeviction");
    const [volume] = list(redis.volumes).map(String);
    expect(volume).toMatch(/^[\w-]+:\/data$/);
    expect(Object.keys(obj(compose.volumes))).toContain(volume!.split(":")[0]);
    const test = list(obj(redis.healthcheck).test).map(String).join(" ");
    expect(test).toContain("redis-cli ping");
  });

  it("starts every app only once Redis is healthy, with .env optional and the container wiring fixed", () => {
    for (const [name, s] of appServices) {
      const svc = obj(s);
      expect(obj(obj(svc.depends_on).redis).condition, name).toBe("service_healthy");
      expect(svc.env_file, name).toEqual([{ path: ".env", required: false }]);
      expect(obj(svc.environment).REDIS_URL, name).toBe("redis://redis:6379");
      expect(svc.container_name, name).toBeUndefined();
    }
  });

  it("points UPSTREAM_URL at the simulator unless .env switches it to DexScreener", () => {
    const upstream = obj(service("worker").environment).UPSTREAM_URL;
    expect(interpolate(upstream, {})).toBe("http://simulator:8001");
    expect(interpolate(upstream, { UPSTREAM_URL: "https://api.dexscreener.com" })).toBe(
      "https://api.dexscreener.com",
    );
    expect(obj(service("simulator").environment).SIMULATOR_PORT).toBe("8001");
  });

  it("points DISCOVERY_URL at the simulator's stream unless .env says PumpPortal or off, for every app", () => {
    for (const [name, s] of appServices) {
      const url = obj(obj(s).environment).DISCOVERY_URL;
      expect(interpolate(url, {}), name).toBe("ws://simulator:8001/api/data");
      expect(interpolate(url, { DISCOVERY_URL: "off" }), name).toBe("off");
      expect(interpolate(url, { DISCOVERY_URL: "wss://pumpportal.fun/api/data" }), name).toBe(
        "wss://pumpportal.fun/api/data",
      );
    }
  });

  it("runs one discovery service: no replicas beyond 2, no ports, after the simulator, no fake health check", () => {
    const discovery = service("discovery");
    expect(Number(obj(discovery.deploy).replicas ?? 1)).toBeLessThanOrEqual(2);
    expect(discovery.ports).toBeUndefined();
    expect(obj(obj(discovery.depends_on).simulator).condition).toBe("service_healthy");
    expect(obj(discovery.healthcheck).disable).toBe(true);
  });

  it("runs two scalable workers: replicas 2, no container_name, no host port", () => {
    const worker = service("worker");
    expect(obj(worker.deploy).replicas).toBe(2);
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
  });

  it("gives every app a stop grace period longer than its drain time", () => {
    for (const [name, s] of appServices) {
      const drain = Number(obj(obj(s).environment).SHUTDOWN_TIMEOUT_MS ?? DEFAULT_DRAIN_MS);
      expect(durationMs(obj(s).stop_grace_period), name).toBeGreaterThan(drain + EXIT_MARGIN_MS);
    }
  });

  it("publishes the api on 8000 and health-checks each app that can be checked", () => {
    const api = service("api");
    expect(list(api.ports).map((p) => interpolate(p, {}))).toEqual(["8000:8000"]);
    expect(obj(api.environment).API_PORT).toBe("8000");
    const check = (name: string) => list(obj(service(name).healthcheck).test).map(String);
    expect(check("api")).toEqual(["CMD", "node", "deploy/healthcheck.mjs", "http", "8000"]);
    expect(check("simulator")).toEqual(["CMD", "node", "deploy/healthcheck.mjs", "http", "8001"]);
    expect(check("worker")).toEqual(["CMD", "node", "deploy/healthcheck.mjs", "worker"]);
    // The producer serves nothing to check: its healthcheck is off, not a check that always passes.
    expect(obj(service("producer").healthcheck).disable).toBe(true);
    // Whoever waits for a healthy service waits for one that has a check.
    for (const [name, s] of Object.entries(services))
      for (const [dep, cond] of Object.entries(obj(obj(s).depends_on)))
        if (obj(cond).condition === "service_healthy")
          expect(list(obj(service(dep).healthcheck).test).length, `${name} -> ${dep}`).toBeGreaterThan(0);
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const lines = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));

  it("builds in one stage and runs in a slim Node 20 stage as the node user, in production mode", () => {
    const froms = lines.filter((l) => l.startsWith("FROM "));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:20(-bookworm)?-slim AS \w+$/);
    expect(at(/^RUN npm ci\b/)).toBeGreaterThan(0);
    expect(at(/^RUN npx tsc -b$/)).toBeGreaterThan(at(/^RUN npm ci\b/));
    expect(at(/^RUN npm prune --omit=dev\b/)).toBeGreaterThan(at(/^RUN npx tsc -b$/));
    const runtime = lines.slice(lines.lastIndexOf(froms.at(-1)!));
    expect(runtime).toContain("ENV NODE_ENV=production");
    expect(runtime).toContain("USER node");
    expect(runtime.at(-1)).toBe('CMD ["node", "apps/api/dist/main.js"]');
  });

  it("copies every workspace's package.json before npm ci", () => {
    const workspaces = (JSON.parse(read("package.json")) as { workspaces: string[] }).workspaces;
    const dirs = workspaces.flatMap((w) => {
      const parent = w.replace(/\/\*$/, "");
      return readdirSync(join(root, parent)).map((d) => `${parent}/${d}`);
    });
    const npmCi = at(/^RUN npm ci\b/);
    for (const dir of dirs) {
      const copy = at(new RegExp(`^COPY ${dir}/package\\.json ${dir}/$`));
      expect(copy, dir).toBeGreaterThan(-1);
      expect(copy, dir).toBeLessThan(npmCi);
    }
    expect(at(/^COPY package\.json package-lock\.json /)).toBeLessThan(npmCi);
  });

  it("checks the api's /livez with a script the image contains", () => {
    const hc = lines.find((l) => l.startsWith("HEALTHCHECK "));
    expect(hc).toMatch(/CMD \["node", "deploy\/healthcheck\.mjs", "http"\]$/);
    expect(lines).toContain("COPY deploy/healthcheck.mjs deploy/");
    expect(read("deploy/healthcheck.mjs")).toContain("/livez");
    const ignore = read(".dockerignore").split("\n");
    expect(ignore).toContain("!deploy/healthcheck.mjs");
    for (const p of ["**/node_modules", "**/dist", ".env", ".git"]) expect(ignore).toContain(p);
  });
});

describe("deploy/kubernetes", () => {
  const dir = "deploy/kubernetes";
  const kustomization = obj(parse(read(`${dir}/kustomization.yaml`)));
  const resources = list(kustomization.resources).map(String);
  const docs = resources.flatMap((f) =>
    parseAllDocuments(read(`${dir}/${f}`)).map((d) => obj(d.toJS() as unknown)),
  );
  const find = (kind: string, name: string) => {
    const doc = docs.find((d) => d.kind === kind && obj(d.metadata).name === name);
    expect(doc, `${kind} ${name}`).toBeDefined();
    return obj(doc);
  };
  const podSpec = (d: Obj) => obj(obj(obj(d.spec).template).spec);
  const container = (d: Obj) => obj(list(podSpec(d).containers)[0]);
  const podLabels = (d: Obj) => obj(obj(obj(obj(d.spec).template).metadata).labels);
  const matches = (selector: Obj, labels: Obj) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
  const config = find("ConfigMap", "moonfleet-config");
  const secret = find("Secret", "moonfleet-secrets");
  const deployments = Object.fromEntries(
    (["producer", "discovery", "worker", "api"] as const).map((app) => [
      app,
      find("Deployment", `moonfleet-${app}`),
    ]),
  ) as Record<"producer" | "discovery" | "worker" | "api", Obj>;

  it("lists only files that exist, and every file of the folder is listed", () => {
    const yamls = readdirSync(join(root, dir)).filter(
      (f) => f.endsWith(".yaml") && f !== "kustomization.yaml",
    );
    expect([...resources].sort()).toEqual(yamls.sort());
  });

  it("runs each app from the image with the ConfigMap and the Secret, which hold only known settings", () => {
    for (const [app, d] of Object.entries(deployments)) {
      const c = container(d);
      expect(appOf(c.command), app).toBe(app);
      expect(c.image, app).toBe("moonfleet");
      const from = list(c.envFrom).map(obj);
      expect(
        from.map((e) => obj(e.configMapRef).name ?? obj(e.secretRef).name),
        app,
      ).toEqual(["moonfleet-config", "moonfleet-secrets"]);
      expect(matches(obj(obj(obj(d.spec).selector).matchLabels), podLabels(d)), app).toBe(true);
      expect(obj(podSpec(d).securityContext).runAsNonRoot, app).toBe(true);
    }
    expect(Object.keys(obj(secret.stringData)).sort()).toEqual(["ADMIN_TOKEN", "REDIS_URL"]);
    for (const key of Object.keys(obj(config.data))) expect(KNOWN_SETTINGS.has(key), key).toBe(true);
  });

  it("sets CPU and memory requests and limits on every container (the controller reads the limits)", () => {
    for (const [app, d] of Object.entries(deployments)) {
      const r = obj(container(d).resources);
      for (const kind of ["requests", "limits"])
        for (const res of ["cpu", "memory"]) expect(obj(r[kind])[res], `${app} ${kind}.${res}`).toBeTruthy();
    }
  });

  it("gives every pod a termination grace period longer than its preStop plus its drain time", () => {
    const drain = Number(obj(config.data).SHUTDOWN_TIMEOUT_MS ?? DEFAULT_DRAIN_MS);
    for (const [app, d] of Object.entries(deployments)) {
      const preStop = list(obj(obj(obj(container(d).lifecycle).preStop).exec).command).map(String);
      const preStopMs = preStop[0] === "sleep" ? Number(preStop[1]) * 1_000 : 0;
      const graceMs = Number(podSpec(d).terminationGracePeriodSeconds) * 1_000;
      expect(graceMs, app).toBeGreaterThan(preStopMs + drain + EXIT_MARGIN_MS);
    }
  });

  it("probes the api on /livez and /readyz through its named port, and serves it with a Service", () => {
    const c = container(deployments.api);
    const port = obj(list(c.ports)[0]);
    expect(obj(obj(c.livenessProbe).httpGet)).toMatchObject({ path: "/livez", port: port.name });
    expect(obj(obj(c.readinessProbe).httpGet)).toMatchObject({ path: "/readyz", port: port.name });
    expect(port.containerPort).toBe(Number(obj(config.data).API_PORT ?? 8000));
    const svc = find("Service", "moonfleet-api");
    expect(matches(obj(obj(svc.spec).selector), podLabels(deployments.api))).toBe(true);
    expect(list(obj(svc.spec).ports).map((p) => obj(p).targetPort)).toContain(port.name);
  });

  it("runs discovery on PumpPortal with 1 or 2 replicas and an optional api key from its own Secret", () => {
    const d = deployments.discovery;
    expect(Number(obj(d.spec).replicas)).toBeGreaterThanOrEqual(1);
    expect(Number(obj(d.spec).replicas)).toBeLessThanOrEqual(2);
    expect(obj(config.data).DISCOVERY_URL).toBe("wss://pumpportal.fun/api/data");
    const key = list(container(d).env)
      .map(obj)
      .find((e) => e.name === "DISCOVERY_API_KEY");
    expect(obj(obj(key?.valueFrom).secretKeyRef)).toMatchObject({ optional: true });
  });

  it("probes workers with the heartbeat check (they serve no HTTP)", () => {
    const c = container(deployments.worker);
    const command = ["node", "deploy/healthcheck.mjs", "worker"];
    expect(obj(obj(c.livenessProbe).exec).command).toEqual(command);
    expect(obj(obj(c.startupProbe).exec).command).toEqual(command);
  });

  it("keeps workers available through voluntary disruptions with a PodDisruptionBudget", () => {
    const pdb = find("PodDisruptionBudget", "moonfleet-worker");
    const spec = obj(pdb.spec);
    expect(matches(obj(obj(spec.selector).matchLabels), podLabels(deployments.worker))).toBe(true);
    expect(spec.maxUnavailable ?? spec.minAvailable).toBeDefined();
  });

  it("scales workers with KEDA on moonfleet_backlog_per_worker per lane", () => {
    const so = find("ScaledObject", "moonfleet-worker");
    expect(so.apiVersion).toBe("keda.sh/v1alpha1");
    const spec = obj(so.spec);
    expect(obj(spec.scaleTargetRef).name).toBe("moonfleet-worker");
    expect(Number(spec.minReplicaCount)).toBeGreaterThanOrEqual(1);
    expect(Number(spec.maxReplicaCount)).toBeGreaterThan(Number(spec.minReplicaCount));
    const triggers = list(spec.triggers).map(obj);
    expect(triggers.length).toBeGreaterThan(0);
    const lanes = new Set<string>();
    for (const t of triggers) {
      expect(t.type).toBe("prometheus");
      const meta = obj(t.metadata);
      const query = String(meta.query);
      expect(query).toMatch(/\bmoonfleet_backlog_per_worker\{lane="(hot|cold)"\}/);
      lanes.add(/lane="(\w+)"/.exec(query)![1]!);
      expect(Number(meta.threshold)).toBeGreaterThan(0);
      expect(String(meta.serverAddress)).toMatch(/^https?:\/\//);
    }
    expect([...lanes].sort()).toEqual(["cold", "hot"]);
  });
});

describe("deploy/kubernetes: kustomize build, checked against the Kubernetes API's and KEDA's schemas", () => {
  const dir = join(root, "deploy/kubernetes");
  const built = kustomizeBuild(dir);
  const kustomization = obj(parse(read("deploy/kubernetes/kustomization.yaml")));
  const name = (o: Obj) => `${String(o.kind)} ${String(obj(o.metadata).name)}`;

  /** The model class (kubernetes-models, @kubernetes-models/keda) for an object's apiVersion and kind. */
  async function modelFor(o: Obj): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
    const apiVersion = String(o.apiVersion);
    const module = (await (apiVersion.startsWith("keda.sh/")
      ? import(`@kubernetes-models/keda/${apiVersion}`)
      : import(`kubernetes-models/${apiVersion}`).catch(() => ({})))) as Record<string, unknown>;
    return module[String(o.kind)] as (new (data: unknown) => { validate(): void }) | undefined;
  }

  it("builds: every object named once, namespaced into the kustomization's namespace, the image renamed", () => {
    expect(built.map(name).sort()).toEqual(
      expect.arrayContaining([
        "ConfigMap moonfleet-config",
        "Deployment moonfleet-api",
        "Deployment moonfleet-worker",
        "Namespace moonfleet",
        "ScaledObject moonfleet-worker",
      ]),
    );
    for (const o of built.filter((x) => x.kind !== "Namespace"))
      expect(obj(o.metadata).namespace, name(o)).toBe(kustomization.namespace);
    const [rule] = list(kustomization.images).map(obj);
    const images = built.flatMap((o) =>
      list(obj(obj(obj(o.spec).template).spec).containers).map((c) => String(obj(c).image)),
    );
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) expect(image).toBe(`${String(rule!.newName)}:${String(rule!.newTag)}`);
  });

  it("every object is valid against its kind's schema (Kubernetes API, KEDA)", async () => {
    for (const o of built) {
      const Model = await modelFor(o);
      expect(Model, `a schema for ${String(o.apiVersion)} ${String(o.kind)}`).toBeDefined();
      expect(() => new Model!(o).validate(), name(o)).not.toThrow();
    }
  });

  it("the schemas catch a broken object (a string replica count, a threshold that is a number)", async () => {
    const deployment = structuredClone(built.find((o) => o.kind === "Deployment")!);
    obj(deployment.spec).replicas = "2";
    const Deployment = await modelFor(deployment);
    expect(() => new Deployment!(deployment).validate()).toThrow(/replicas must be integer/);
    const scaled = structuredClone(built.find((o) => o.kind === "ScaledObject")!);
    obj(obj(list(obj(scaled.spec).triggers)[0]).metadata).threshold = 5;
    const ScaledObject = await modelFor(scaled);
    expect(() => new ScaledObject!(scaled).validate()).toThrow(/threshold must be string/);
  });

  it("refuses a kustomization field the resolver does not implement", () => {
    const tmp = mkdtempSync(join(tmpdir(), "moonfleet-kustomize-"));
    try {
      writeFileSync(
        join(tmp, "kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncommonLabels: {a: b}\n",
      );
      expect(() => kustomizeBuild(tmp)).toThrow(/commonLabels/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync("/usr/bin/kubectl") && !existsSync("/usr/local/bin/kubectl"))(
    "builds what `kubectl kustomize` builds",
    async () => {
      const { stdout } = await run("kubectl", ["kustomize", dir]);
      const theirs = parseAllDocuments(stdout).map((d) => obj(d.toJS() as unknown));
      const key = (o: Obj) => `${name(o)} ${JSON.stringify(obj(o.metadata).namespace ?? "")}`;
      const byKey = (objs: Obj[]) => Object.fromEntries(objs.map((o) => [key(o), o]));
      expect(byKey(built)).toEqual(byKey(theirs));
    },
  );
});

describe("deploy/systemd", () => {
  const dir = "deploy/systemd";
  /** The [Service] (or other) section of a unit as key -> values. */
  function section(file: string, name: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    let current = "";
    for (const raw of read(`${dir}/${file}`).split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      const head = /^\[(\w+)\]$/.exec(line);
      if (head) current = head[1]!;
      else if (current === name) {
        const eq = line.indexOf("=");
        const key = line.slice(0, eq);
        out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
      }
    }
    return out;
  }
  const units = {
    api: "moonfleet-api.service",
    producer: "moonfleet-producer.service",
    discovery: "moonfleet-discovery.service",
    worker: "moonfleet-worker@.service",
  } as const;

  it("runs each app from the settings file, stops it with SIGTERM and waits out the drain", () => {
    for (const [app, file] of Object.entries(units)) {
      const s = section(file, "Service");
      expect(s.get("EnvironmentFile"), file).toEqual(["/etc/moonfleet.env"]);
      expect(s.get("KillSignal"), file).toEqual(["SIGTERM"]);
      expect(s.get("Restart"), file).toEqual(["on-failure"]);
      expect(Number(s.get("TimeoutStopSec")?.[0]) * 1_000, file).toBeGreaterThan(
        DEFAULT_DRAIN_MS + EXIT_MARGIN_MS,
      );
      const exec = s.get("ExecStart")?.[0] ?? "";
      expect(exec.split(/\s+/)[0], file).toMatch(/^\/\S+\/node$/);
      expect(appOf(exec), file).toBe(app);
      expect(s.get("WorkingDirectory")?.[0], file).toMatch(/^\//);
      // journalctl -u 'moonfleet-*' finds every unit; the logs are the process's stdout.
      expect(file).toMatch(/^moonfleet-/);
      expect(s.get("StandardOutput") ?? ["journal"], file).toEqual(["journal"]);
    }
  });

  it("gives the distribution's redis-server the nice npm start gives its own", () => {
    const nice = SETTINGS.find((x) => x.env === "REDIS_SERVER_NICE")?.default;
    expect(nice).toBe("-10");
    expect(section("redis-priority.conf", "Service").get("Nice")).toEqual([nice]);
  });

  it("groups the units in moonfleet.target, with two worker instances", () => {
    const wants = (section("moonfleet.target", "Unit").get("Wants") ?? []).join(" ").split(/\s+/);
    expect(wants).toEqual(
      expect.arrayContaining([
        units.api,
        units.producer,
        units.discovery,
        "moonfleet-worker@1.service",
        "moonfleet-worker@2.service",
      ]),
    );
    for (const file of Object.values(units))
      expect(section(file, "Unit").get("PartOf"), file).toEqual(["moonfleet.target"]);
  });

  it.skipIf(!existsSync("/usr/bin/systemd-analyze") || !existsSync("/usr/bin/node"))(
    "passes systemd-analyze verify",
    async () => {
      const tmp = mkdtempSync(join(tmpdir(), "moonfleet-units-"));
      try {
        for (const f of readdirSync(join(root, dir))) writeFileSync(join(tmp, f), read(`${dir}/${f}`));
        const files = [
          units.api,
          units.producer,
          units.discovery,
          "moonfleet-worker@1.service",
          "moonfleet.target",
        ];
        // verify reports problems on stderr and exits non-zero; it runs nothing.
        await expect(
          run("systemd-analyze", ["verify", "--man=no", ...files], { cwd: tmp }),
        ).resolves.toBeDefined();
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  );
});

describe("deploy/healthcheck.mjs", () => {
  const script = join(root, "deploy/healthcheck.mjs");
  const started: AppProcess[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    await Promise.all(started.map((p) => stopApp(p, 2_000)));
    for (const f of cleanup) await f().catch(() => undefined);
  });
  const check = async (args: string[], env: Record<string, string> = {}) => {
    try {
      await run(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  };

  it("http: passes while /livez answers, fails when nothing listens", async () => {
    const { sim, url } = await startSimulator();
    cleanup.push(() => sim.close());
    const port = new URL(url).port;
    expect(await check(["http", port])).toBe(0);
    expect(await check(["http"], { API_PORT: port })).toBe(0);
    expect(await check(["http", String(await freePort())])).toBe(1);
  });

  it("worker: passes while this host's worker beats, fails without one, passes when Redis is down", async () => {
    const prefix = uniquePrefix();
    const { sim, url } = await startSimulator();
    cleanup.push(() => sim.close());
    const env = { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix };
    expect(await check(["worker"], env)).toBe(1);
    const worker = runApp("worker", { ...env, UPSTREAM_URL: url });
    started.push(worker);
    await waitUntil("the worker's heartbeat", async () => (await check(["worker"], env)) === 0, 20_000, 200);
    await stopApp(worker);
    expect(await check(["worker"], env)).toBe(1); // a stopped worker removes its heartbeat
    expect(await check(["worker"], { REDIS_URL: `redis://127.0.0.1:${await freePort()}` })).toBe(0);
  });
});
