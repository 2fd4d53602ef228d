import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  SETTINGS,
  camelCase,
  loadConfig as load,
  renderEnvExample,
  resolveConfig,
  type LoadOptions,
} from "../src/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const GiB = 1024 ** 3;
/** A machine of the "high" profile: the profile defaults then equal the table's defaults. */
const HIGH: LoadOptions = { machine: { cpus: 8, memoryBytes: 16 * GiB } };
const loadConfig = (env: Record<string, string | undefined>, opts: LoadOptions = HIGH) => load(env, opts);

/** The problems loadConfig reports for `env`; fails the test when it does not throw a ConfigError. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw a ConfigError`);
}

describe("loadConfig defaults", () => {
  it("parses an empty environment into every setting's default", () => {
    const c = loadConfig({});
    expect(c.enableSchedulerOptimization).toBe(true);
    expect(c.enableParallelProcessing).toBe(true);
    expect(c.maxConcurrentHot).toBe(12);
    expect(c.maxConcurrentCold).toBe(16);
    expect(c.timeoutHot).toBe(3);
    expect(c.minBatchSize).toBe(10);
    expect(c.maxBatchSize).toBe(150);
    expect(c.highCpuThreshold).toBe(80);
    expect(c.cacheTtlHot).toBe(15);
    expect(c.redisKeyPrefix).toBe("mf");
    expect(c.apiPort).toBe(8000);
    expect(c.logLevel).toBe("info");
    expect(c.redisUrl).toBeUndefined();
    expect(c.upstreamUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
  });

  it("has a key for every setting, and a value for every setting with a default", () => {
    const c = loadConfig({}) as unknown as Record<string, unknown>;
    expect(Object.keys(c).sort()).toEqual(SETTINGS.map((s) => camelCase(s.env)).sort());
    for (const s of SETTINGS) {
      if (s.default === undefined) expect(c[camelCase(s.env)], s.env).toBeUndefined();
      else expect(c[camelCase(s.env)], s.env).toEqual(s.type.env.parse(s.default));
    }
  });

  it("returns a frozen object", () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it("does not read process.env when given an explicit environment", () => {
    const before = process.env.MAX_CONCURRENT_HOT;
    process.env.MAX_CONCURRENT_HOT = "99";
    try {
      expect(loadConfig({}).maxConcurrentHot).toBe(12);
    } finally {
      if (before === undefined) delete process.env.MAX_CONCURRENT_HOT;
      else process.env.MAX_CONCURRENT_HOT = before;
    }
  });
});

describe("performance profiles", () => {
  it("picks the profile from cores and memory, the weaker deciding", () => {
    const profile = (cpus: number, gib: number) =>
      resolveConfig({}, { machine: { cpus, memoryBytes: gib * GiB } }).profile;
    expect(profile(1, 2)).toBe("low");
    expect(profile(2, 24)).toBe("medium");
    expect(profile(8, 4)).toBe("medium");
    expect(profile(4, 8)).toBe("high");
  });

  it("fills concurrency and batch size from the profile, with explicit values winning", () => {
    const medium = { machine: { cpus: 2, memoryBytes: 24 * GiB } };
    const r = resolveConfig({ MAX_CONCURRENT_COLD: "20" }, medium);
    expect(r.config.maxConcurrentHot).toBe(8);
    expect(r.config.maxBatchSize).toBe(100);
    expect(r.config.maxConcurrentCold).toBe(20);
    expect(r.sources.maxConcurrentHot).toBe("profile");
    expect(r.sources.maxConcurrentCold).toBe("environment");
    expect(r.sources.timeoutHot).toBe("default");
  });

  it("lets PERFORMANCE_PROFILE name a profile instead of detecting one", () => {
    const r = resolveConfig({ PERFORMANCE_PROFILE: "low" }, HIGH);
    expect(r.profile).toBe("low");
    expect([r.config.maxConcurrentHot, r.config.maxConcurrentCold, r.config.maxBatchSize]).toEqual([
      4, 6, 50,
    ]);
  });

  it("checks the batch bounds against the profile's maximum", () => {
    expect(() => resolveConfig({ PERFORMANCE_PROFILE: "low", MIN_BATCH_SIZE: "60" }, HIGH)).toThrow(
      /MIN_BATCH_SIZE/,
    );
  });
});

describe("camelCase keys", () => {
  it("maps env names to camelCase", () => {
    expect(camelCase("MAX_CONCURRENT_HOT")).toBe("maxConcurrentHot");
    expect(camelCase("ENABLE_SCHEDULER_OPTIMIZATION")).toBe("enableSchedulerOptimization");
    expect(camelCase("API_PORT")).toBe("apiPort");
  });

  it("exposes given values under the camelCase key", () => {
    const c = loadConfig({
      MAX_CONCURRENT_HOT: "7",
      TIMEOUT_COLD: "0.5",
      REDIS_URL: "redis://127.0.0.1:6390",
      ADMIN_TOKEN: "0123456789abcdef",
      LOG_LEVEL: "debug",
    });
    expect(c.maxConcurrentHot).toBe(7);
    expect(c.timeoutCold).toBe(0.5);
    expect(c.redisUrl).toBe("redis://127.0.0.1:6390");
    expect(c.adminToken).toBe("0123456789abcdef");
    expect(c.logLevel).toBe("debug");
  });
});

describe("booleans", () => {
  it("accept true and false", () => {
    expect(loadConfig({ ENABLE_PARALLEL_PROCESSING: "false" }).enableParallelProcessing).toBe(false);
    expect(loadConfig({ ENABLE_PARALLEL_PROCESSING: "true" }).enableParallelProcessing).toBe(true);
    expect(loadConfig({ ENABLE_SCHEDULER_OPTIMIZATION: "false" }).enableSchedulerOptimization).toBe(false);
  });

  it.each(["1", "0", "yes", "no", "on", "off", "TRUE", "False", "t", "truthy"])("reject %j", (value) => {
    const problems = problemsOf({ ENABLE_ADAPTIVE_BATCHING: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("ENABLE_ADAPTIVE_BATCHING");
    expect(problems[0]).toContain("expected true or false");
  });
});

describe("bad values", () => {
  it.each([
    ["MAX_CONCURRENT_HOT", "abc", "expected a number"],
    ["MAX_CONCURRENT_HOT", "1.5", "expected a whole number"],
    ["MAX_CONCURRENT_HOT", "0", "expected at least 1"],
    ["MAX_CONCURRENT_HOT", "257", "expected at most 256"],
    ["TIMEOUT_HOT", "0", "expected at least 0.1"],
    ["HIGH_CPU_THRESHOLD", "101", "expected at most 100"],
    ["API_PORT", "70000", "expected at most 65535"],
    ["REDIS_URL", "not a url", "expected a URL"],
    ["REDIS_KEY_PREFIX", "has space", "expected 1-32"],
    ["LOG_LEVEL", "loud", ""],
  ])("%s=%j gives one problem naming the variable", (env, value, message) => {
    const problems = problemsOf({ [env]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${env}\\b`));
    expect(problems[0]).toContain(message);
  });

  it("gives one problem per bad variable, each naming its variable", () => {
    const problems = problemsOf({
      MAX_CONCURRENT_HOT: "abc",
      TIMEOUT_COLD: "-1",
      ENABLE_DYNAMIC_TIMEOUTS: "yes",
      API_PORT: "8000",
    });
    expect(problems).toHaveLength(3);
    for (const env of ["MAX_CONCURRENT_HOT", "TIMEOUT_COLD", "ENABLE_DYNAMIC_TIMEOUTS"])
      expect(
        problems.filter((p) => p.startsWith(`${env}=`)),
        env,
      ).toHaveLength(1);
  });

  it("puts every problem in the error message", () => {
    try {
      loadConfig({ MAX_CONCURRENT_HOT: "abc", MAX_CONCURRENT_COLD: "xyz" });
      expect.unreachable("loadConfig should throw");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).name).toBe("ConfigError");
      expect((err as Error).message).toContain("MAX_CONCURRENT_HOT");
      expect((err as Error).message).toContain("MAX_CONCURRENT_COLD");
    }
  });

  it("shortens a long bad value", () => {
    const [problem] = problemsOf({ MAX_CONCURRENT_HOT: "x".repeat(500) });
    expect(problem).toBeDefined();
    expect(problem!.length).toBeLessThan(200);
  });

  it("does not echo a bad ADMIN_TOKEN, which is a secret", () => {
    const secret = "short-secret";
    const problems = problemsOf({ ADMIN_TOKEN: secret });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("ADMIN_TOKEN");
    expect(problems[0]).toContain("expected at least 16 characters");
    expect(problems[0]).not.toContain(secret);
  });
});

describe("empty values", () => {
  it("treat an empty or blank string as unset", () => {
    const c = loadConfig({
      MAX_CONCURRENT_HOT: "",
      TIMEOUT_HOT: "   ",
      ENABLE_PARALLEL_PROCESSING: "",
      REDIS_URL: "",
      ADMIN_TOKEN: "",
    });
    expect(c.maxConcurrentHot).toBe(12);
    expect(c.timeoutHot).toBe(3);
    expect(c.enableParallelProcessing).toBe(true);
    expect(c.redisUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
  });

  it("trim surrounding whitespace from a given value", () => {
    expect(loadConfig({ MAX_CONCURRENT_HOT: " 7 " }).maxConcurrentHot).toBe(7);
  });
});

describe("cross checks", () => {
  it("accept the defaults and strictly ordered thresholds", () => {
    const c = loadConfig({ LOW_CPU_THRESHOLD: "10", MEDIUM_CPU_THRESHOLD: "20", HIGH_CPU_THRESHOLD: "30" });
    expect([c.lowCpuThreshold, c.mediumCpuThreshold, c.highCpuThreshold]).toEqual([10, 20, 30]);
  });

  it.each([
    ["CPU", { LOW_CPU_THRESHOLD: "70" }],
    ["CPU", { MEDIUM_CPU_THRESHOLD: "90" }],
    ["CPU", { LOW_CPU_THRESHOLD: "60" }],
    ["CPU", { MEDIUM_CPU_THRESHOLD: "80" }],
    ["MEMORY", { LOW_MEMORY_THRESHOLD: "75" }],
    ["MEMORY", { HIGH_MEMORY_THRESHOLD: "70" }],
  ])("reject %s thresholds out of order (%j)", (kind, env) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    for (const level of ["LOW", "MEDIUM", "HIGH"])
      expect(problems[0]).toContain(`${level}_${kind}_THRESHOLD`);
  });

  it("report both threshold families when both are out of order", () => {
    const problems = problemsOf({ LOW_CPU_THRESHOLD: "95", LOW_MEMORY_THRESHOLD: "95" });
    expect(problems).toHaveLength(2);
    expect(problems.some((p) => p.includes("LOW_CPU_THRESHOLD"))).toBe(true);
    expect(problems.some((p) => p.includes("LOW_MEMORY_THRESHOLD"))).toBe(true);
  });

  it("allow MIN_BATCH_SIZE equal to MAX_BATCH_SIZE", () => {
    const c = loadConfig({ MIN_BATCH_SIZE: "50", MAX_BATCH_SIZE: "50" });
    expect([c.minBatchSize, c.maxBatchSize]).toEqual([50, 50]);
  });

  it("reject MIN_BATCH_SIZE above MAX_BATCH_SIZE, naming both", () => {
    const problems = problemsOf({ MIN_BATCH_SIZE: "200", MAX_BATCH_SIZE: "100" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("MIN_BATCH_SIZE");
    expect(problems[0]).toContain("MAX_BATCH_SIZE");
  });

  // next due = fetchedAt + TTL - margin: a margin of a TTL or more makes a token due before it
  // was even fetched, so its lane refreshes it flat out (the TTL 1 s, margin 60 s).
  it.each([
    ["CACHE_TTL_HOT", { CACHE_TTL_HOT: "1", DUE_MARGIN_MS: "60000" }],
    ["CACHE_TTL_HOT", { CACHE_TTL_HOT: "2", DUE_MARGIN_MS: "2000" }],
    ["CACHE_TTL_HOT", { CACHE_TTL_HOT: "1" }],
    ["CACHE_TTL_COLD", { CACHE_TTL_COLD: "1.5", DUE_MARGIN_MS: "1500" }],
  ])("reject a DUE_MARGIN_MS not below %s (%j), naming both", (ttl, env) => {
    const problems = problemsOf(env);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toContain("DUE_MARGIN_MS");
    expect(problems.filter((p) => p.includes(ttl))).toHaveLength(1);
  });

  it("reject a LEASE_MS not above DUE_MARGIN_MS, naming both", () => {
    const problems = problemsOf({
      CACHE_TTL_HOT: "10",
      CACHE_TTL_COLD: "10",
      DUE_MARGIN_MS: "4000",
      LEASE_MS: "4000",
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("LEASE_MS=4000");
    expect(problems[0]).toContain("DUE_MARGIN_MS=4000");
    const ok = loadConfig({
      CACHE_TTL_HOT: "10",
      CACHE_TTL_COLD: "10",
      DUE_MARGIN_MS: "4000",
      LEASE_MS: "4001",
    });
    expect(ok.leaseMs).toBe(4001);
  });

  it("allow a DUE_MARGIN_MS just below both TTLs", () => {
    const c = loadConfig({ CACHE_TTL_HOT: "3", CACHE_TTL_COLD: "4", DUE_MARGIN_MS: "2999" });
    expect([c.cacheTtlHot, c.cacheTtlCold, c.dueMarginMs]).toEqual([3, 4, 2999]);
    expect(loadConfig({ CACHE_TTL_HOT: "1", CACHE_TTL_COLD: "1", DUE_MARGIN_MS: "0" }).dueMarginMs).toBe(0);
  });
});

describe(".env.example", () => {
  const file = readFileSync(`${root}.env.example`, "utf8");

  it("equals renderEnvExample() (regenerate with npm run env:example)", () => {
    expect(file).toBe(renderEnvExample());
  });

  it("lists every setting with its default and description", () => {
    const lines = renderEnvExample().split("\n");
    for (const s of SETTINGS) {
      const line =
        s.default === undefined || s.profiled ? `# ${s.env}=${s.default ?? ""}` : `${s.env}=${s.default}`;
      expect(lines, s.env).toContain(line);
      expect(lines, s.env).toContain(`# ${s.doc}${s.runtime ? " [runtime]" : ""}`);
    }
  });

  it("gives each setting exactly once", () => {
    const names = renderEnvExample()
      .split("\n")
      .map((l) => /^(?:# )?([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
    expect(names).toEqual(SETTINGS.map((s) => s.env));
  });

  it("holds values that parse", () => {
    const env = Object.fromEntries(
      file
        .split("\n")
        .filter((l) => /^[A-Z]/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(() => loadConfig(env)).not.toThrow();
  });
});

describe("README", () => {
  it("mentions every setting", () => {
    // The README is the operator's manual: every variable an operator can set belongs in it.
    const readme = readFileSync(`${root}README.md`, "utf8");
    const missing = SETTINGS.map((s) => s.env).filter((env) => !new RegExp(`\\b${env}\\b`).test(readme));
    expect(missing).toEqual([]);
  });
});
