import { camelCase } from "./config.js";
import { PROFILES } from "./profiles.js";
import { SETTINGS, type SettingSpec } from "./settings.js";

const GROUPS: Readonly<Record<string, string>> = {
  ENABLE_SCHEDULER_OPTIMIZATION: "Flags (the operator's guide)",
  MAX_CONCURRENT_HOT: "Concurrency per queue per worker process",
  TIMEOUT_HOT: "Upstream timeouts, seconds",
  MIN_BATCH_SIZE: "Batch sizing, tokens per job",
  HIGH_CPU_THRESHOLD: "Load thresholds, percent",
  CACHE_TTL_HOT: "Freshness targets, seconds",
  REDIS_URL: "Wiring",
  UPSTREAM_RPM: "Upstream protection",
  PRODUCER_TICK_MS: "Scheduling",
  WORKER_PROCESSES: "Local fleet (npm start) and the simulator",
};

/** The text of `.env.example`: every setting with its default and description (a test keeps them equal). */
export function renderEnvExample(): string {
  let out =
    "# moonfleet settings: every variable, its default and what it does.\n" +
    "# Copy to .env (docker compose) or export them; an unset variable takes the default shown.\n" +
    "# Regenerate with `npm run env:example` after changing packages/config/src/settings.ts.\n" +
    "# [runtime]: can also change while the fleet runs (PATCH /config, updateOptimizationConfig()).\n";
  for (const s of SETTINGS as readonly SettingSpec[]) {
    const group = GROUPS[s.env];
    if (group) out += `\n# --- ${group}\n`;
    out += `# ${s.doc}${s.runtime ? " [runtime]" : ""}\n`;
    if (s.profiled) {
      const key = camelCase(s.env) as keyof (typeof PROFILES)["high"];
      const byProfile = (["high", "medium", "low"] as const)
        .map((p) => `${p} ${PROFILES[p][key]}`)
        .join(", ");
      out += `# (unset: from PERFORMANCE_PROFILE: ${byProfile})\n# ${s.env}=${s.default}\n`;
    } else out += s.default === undefined ? `# ${s.env}=\n` : `${s.env}=${s.default}\n`;
  }
  return out;
}
