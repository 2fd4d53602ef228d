/** One step of a worker process's stop, in the order they run. */
export interface StopStep {
  readonly name: string;
  run(): unknown;
}

/**
 * The graceful stop: `drain` (stop taking jobs, let the ones in flight finish) gets `timeoutMs`,
 * after which `onDeadline` aborts what is still running; then each step runs in turn, the order
 * mattering (loops before the connections they use, the heartbeat's removal before Redis closes).
 */
export async function stopInOrder(o: {
  readonly drain: () => Promise<void>;
  readonly timeoutMs: number;
  readonly onDeadline: () => void;
  readonly steps: readonly StopStep[];
}): Promise<void> {
  const draining = o.drain();
  const timer = setTimeout(o.onDeadline, o.timeoutMs);
  try {
    await draining;
  } finally {
    clearTimeout(timer);
  }
  for (const step of o.steps) await step.run();
}
