export interface ShutdownOptions {
  /** Graceful stop; resolves when the process may exit. */
  readonly stop: (reason: string) => Promise<void>;
  /** How long `stop` may take before the process exits anyway. */
  readonly timeoutMs: number;
  readonly log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * The first SIGTERM/SIGINT (or the parent's IPC channel closing) starts a graceful stop raced
 * against a deadline; a second signal exits at once. Exit 0 on a clean stop, 1 otherwise.
 */
export function onShutdown(opts: ShutdownOptions): { readonly stopping: () => boolean } {
  let stopping = false;
  const log = opts.log ?? (() => undefined);
  const begin = (reason: string) => {
    if (stopping) {
      log("second signal: exiting now", { reason });
      process.exit(1);
    }
    stopping = true;
    log("stopping", { reason, timeoutMs: opts.timeoutMs });
    const deadline = setTimeout(() => {
      log("shutdown deadline passed: exiting", { timeoutMs: opts.timeoutMs });
      process.exit(1);
    }, opts.timeoutMs + 2_000);
    deadline.unref();
    opts.stop(reason).then(
      () => process.exit(0),
      (err: unknown) => {
        log("shutdown failed", { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => begin("SIGTERM"));
  process.on("SIGINT", () => begin("SIGINT"));
  // Started by `npm start`: when the launcher goes away, so do we.
  if (process.send) process.on("disconnect", () => begin("parent exited"));
  return { stopping: () => stopping };
}

/** A long-lived part of an app: runs until its signal aborts, then closes its connections. */
export interface RunningPart {
  run(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `part` now and stops it on the first signal (see onShutdown): abort its run, wait for the
 * run to end, then close it.
 */
export function runUntilShutdown(part: RunningPart, opts: Omit<ShutdownOptions, "stop">): void {
  const stopping = new AbortController();
  const running = part.run(stopping.signal);
  onShutdown({
    ...opts,
    stop: async () => {
      stopping.abort();
      await running;
      await part.close();
    },
  });
}
