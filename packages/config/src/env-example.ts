import { SETTINGS } from "./settings.js";

const GROUPS: Readonly<Record<string, string>> = {
  ENABLE_SCHEDULER_OPTIMIZATION: "Flags (the operator's guide)",
  MAX_CONCURRENT_HOT: "Concurrency per queue per worker process",
  TIMEOUT_HOT: "Upstream timeouts, seconds",
  MIN_BATCH_SIZE: "Batch sizing, tokens per job",
  HIGH_CPU_THRESHOLD: "Load thresholds, percent",
  CACHE_TTL_HOT: "Freshness targets, seconds",
  REDIS_URL: "Wiring",
  PRODUCER_TICK_MS: "Scheduling",
  WORKER_PROCESSES: "Local fleet (npm start) and the simulator",
};

/** The text of `.env.example`: every setting with its default and description (a test keeps them equal). */
export function renderEnvExample(): string {
  let out =
    "# moonfleet settings: every variable, its default and what it does.\n" +
    "# Copy to .env (docker compose) or export them; an unset variable takes the default shown.\n" +
    "# Regenerate with `npm run env:example` after changing packages/config/src/settings.ts.\n";
  for (const s of SETTINGS) {
    const group = GROUPS[s.env];
    if (group) out += `\n# --- ${group}\n`;
    out += `# ${s.doc}\n`;
    out += s.default === undefined ? `# ${s.env}=\n` : `${s.env}=${s.default}\n`;
  }
  return out;
}
