import { execFile } from "node:child_process";

// The docker CLI as the compose e2e test drives it: every command is bounded in time, and a
// failing one throws with the command and the end of what it printed.

export interface Output {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cmd args` and resolves with its exit code and output (never rejects on a non-zero exit). */
export function exec(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Output> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 120_000,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        const timedOut =
          err && (err as { killed?: boolean }).killed ? `\n(killed after ${opts.timeoutMs} ms)` : "";
        resolve({ code, stdout, stderr: stderr + timedOut });
      },
    );
  });
}

const tail = (text: string, lines: number) => text.trimEnd().split("\n").slice(-lines).join("\n");

/** Like exec, but a non-zero exit throws an error that names the command and shows its output's end. */
export async function run(
  cmd: string,
  args: readonly string[],
  opts: Parameters<typeof exec>[2] = {},
): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(
      `\`${cmd} ${args.join(" ")}\` exited ${r.code}:\n${tail(`${r.stdout}\n${r.stderr}`, 40)}`,
    );
  return r.stdout;
}

/**
 * Why this machine cannot run the compose test, or null when it can: a Docker engine that
 * answers, Compose v2 and the base images the Dockerfile and docker-compose.yml name.
 */
export async function dockerUnavailable(baseImages: readonly string[]): Promise<string | null> {
  const info = await exec("docker", ["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 20_000 });
  if (info.code !== 0)
    return `no Docker engine answers (docker info: ${tail(info.stderr || info.stdout, 1) || `exit ${info.code}`})`;
  const compose = await exec("docker", ["compose", "version", "--short"], { timeoutMs: 20_000 });
  if (compose.code !== 0 || !/^v?2\./.test(compose.stdout.trim()))
    return `no Docker Compose v2 (docker compose version: ${tail(compose.stdout + compose.stderr, 1)})`;
  for (const image of baseImages) {
    const r = await exec("docker", ["image", "inspect", "--format", "{{.Id}}", image], { timeoutMs: 20_000 });
    if (r.code !== 0) return `the base image ${image} is not on this engine (no registry to pull it from)`;
  }
  return null;
}

/** Whether BuildKit can build here: the buildx plugin answers (its frontend is built in). */
export async function buildkitAvailable(): Promise<boolean> {
  return (await exec("docker", ["buildx", "version"], { timeoutMs: 20_000 })).code === 0;
}

/** One line of `docker compose ps --format json`. */
export interface ComposeContainer {
  readonly ID: string;
  readonly Name: string;
  readonly Service: string;
  readonly State: string;
  readonly Health: string;
  readonly ExitCode: number;
  readonly Status: string;
}

/** `docker compose ps --format json` prints one object per line (Compose 2.21+) or one array. */
export function parseComposePs(stdout: string): ComposeContainer[] {
  const text = stdout.trim();
  if (!text) return [];
  if (text.startsWith("[")) return JSON.parse(text) as ComposeContainer[];
  return text.split("\n").map((l) => JSON.parse(l) as ComposeContainer);
}

/** What `docker inspect` says about a container's end. */
export interface ContainerState {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  readonly exitCode: number;
  readonly oomKilled: boolean;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** compose's stop_grace_period, seconds (null: Docker's default of 10 s). */
  readonly stopTimeoutS: number | null;
  readonly hostname: string;
  /** compose's cpu_shares (0: Docker's default weight, 1024). */
  readonly cpuShares: number;
}

export async function inspectContainers(ids: readonly string[]): Promise<ContainerState[]> {
  if (ids.length === 0) return [];
  const out = await run("docker", ["inspect", ...ids]);
  return (JSON.parse(out) as any[]).map((c) => ({
    id: String(c.Id),
    name: String(c.Name).replace(/^\//, ""),
    running: Boolean(c.State.Running),
    exitCode: Number(c.State.ExitCode),
    oomKilled: Boolean(c.State.OOMKilled),
    startedAt: Date.parse(c.State.StartedAt),
    finishedAt: Date.parse(c.State.FinishedAt),
    stopTimeoutS: typeof c.Config.StopTimeout === "number" ? c.Config.StopTimeout : null,
    hostname: String(c.Config.Hostname),
    cpuShares: Number(c.HostConfig?.CpuShares ?? 0),
  }));
}
