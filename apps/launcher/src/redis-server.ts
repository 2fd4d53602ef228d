import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createConnection } from "node:net";
import { setPriority } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.js";

export class RedisServerMissingError extends Error {
  override name = "RedisServerMissingError";
  constructor() {
    super(
      "redis-server was not found on PATH: install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL",
    );
  }
}

export interface RedisServerOptions {
  /** Data folder (AOF and RDB files). */
  readonly dir: string;
  readonly port?: number;
  /** AOF on: a restart keeps every registered token and snapshot. */
  readonly appendOnly?: boolean;
  /** Own process group, so a terminal's Ctrl-C reaches the launcher, which stops Redis last. */
  readonly detached?: boolean;
  /**
   * The nice it runs at (REDIS_SERVER_NICE); unset, the launcher's own. Below 0 the OS serves it
   * before the workers when they fill every core, so a producer tick or an API read does not queue
   * behind their commits; raising a priority needs root or CAP_SYS_NICE.
   */
  readonly nice?: number;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Why the OS refused the nice asked for (it runs at the launcher's own); null when it took it or none was asked. */
  readonly niceRefused: string | null;
  stop(): Promise<void>;
}

/**
 * Sets a process's nice; returns null when it took, else why not (a lower nice than the caller's
 * needs root or CAP_SYS_NICE: EACCES). `set` is the OS call.
 */
export function applyNice(
  pid: number,
  nice: number,
  set: (pid: number, priority: number) => void = setPriority,
): string | null {
  try {
    set(pid, nice);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EACCES" || code === "EPERM"
      ? `nice ${nice} needs root or CAP_SYS_NICE`
      : `nice ${nice}: ${(err as Error).message}`;
  }
}

export function redisServerPath(): string | null {
  const r = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

async function pingable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: "127.0.0.1" }, () => sock.write("PING\r\n"));
    sock.setTimeout(500, () => (sock.destroy(), resolve(false)));
    sock.on("data", (d) => (sock.destroy(), resolve(d.toString().startsWith("+PONG"))));
    sock.on("error", () => resolve(false));
  });
}

/** Starts a private `redis-server` on a free loopback port; resolves once it answers PING. */
export async function startRedisServer(opts: RedisServerOptions): Promise<RedisServer> {
  const bin = redisServerPath();
  if (!bin) throw new RedisServerMissingError();
  mkdirSync(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    opts.dir,
    "--save",
    "",
    "--appendonly",
    opts.appendOnly ? "yes" : "no",
    "--appendfsync",
    "everysec",
    "--maxmemory-policy",
    "noeviction",
    "--daemonize",
    "no",
    "--protected-mode",
    "yes",
    "--logfile",
    "",
    "--loglevel",
    "warning",
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], detached: opts.detached ?? false });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited with ${child.exitCode}: ${stderr.trim()}`);
    if (await pingable(port)) break;
    await sleep(50);
    if (i === 99) throw new Error(`redis-server did not answer on port ${port} within 5 s`);
  }
  const niceRefused =
    opts.nice === undefined || child.pid === undefined ? null : applyNice(child.pid, opts.nice);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    niceRefused,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM"); // Redis flushes the AOF and exits
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
