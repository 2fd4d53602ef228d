import { fork, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { lineSplitter } from "./calm-view.js";

export interface AppSpec {
  /** Label in the launcher's messages, e.g. "worker-2". */
  readonly label: string;
  /** Path of the app's built main.js. */
  readonly main: string;
  readonly env: NodeJS.ProcessEnv;
  /** Each line the app prints; unset, the app writes straight to the launcher's stdout and stderr. */
  readonly onLine?: (label: string, line: string) => void;
}

/**
 * Runs app processes and restarts one that dies on its own. Each child has its own process group
 * (a terminal's Ctrl-C reaches only the launcher, which then sends one SIGTERM to each) and an IPC
 * channel (a child stops by itself when the launcher is gone).
 */
export class Supervisor {
  private readonly running = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(private readonly say: (msg: string) => void) {}

  start(spec: AppSpec): void {
    const piped = spec.onLine !== undefined;
    const child = fork(spec.main, [], {
      env: spec.env,
      detached: true,
      stdio: ["ignore", piped ? "pipe" : "inherit", piped ? "pipe" : "inherit", "ipc"],
    });
    if (spec.onLine) {
      const onLine = spec.onLine;
      child.stdout?.on(
        "data",
        lineSplitter((line) => onLine(spec.label, line)),
      );
      child.stderr?.on(
        "data",
        lineSplitter((line) => onLine(spec.label, line)),
      );
    }
    this.running.set(spec.label, child);
    child.once("exit", (code, signal) => {
      this.running.delete(spec.label);
      if (this.stopping) return;
      this.say(`${spec.label} exited (${signal ?? `code ${code}`}); restarting in 1 s`);
      void sleep(1_000).then(() => !this.stopping && this.start(spec));
    });
  }

  /** SIGTERM to every child, SIGKILL to those still running after `timeoutMs`. */
  async stopAll(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const children = [...this.running.values()];
    const exits = children.map(
      (c) =>
        new Promise<void>((resolve) =>
          c.exitCode !== null || c.signalCode !== null ? resolve() : c.once("exit", () => resolve()),
        ),
    );
    for (const c of children) c.kill("SIGTERM");
    const timer = setTimeout(() => children.forEach((c) => c.kill("SIGKILL")), timeoutMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }
}
