/** What one mint got from a shared call. */
export type MintResult<R> =
  { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

interface Waiting<R> {
  readonly promise: Promise<MintResult<R>>;
  readonly resolve: (r: MintResult<R>) => void;
}

function deferred<R>(): Waiting<R> {
  let resolve!: (r: MintResult<R>) => void;
  const promise = new Promise<MintResult<R>>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Merges the mints that concurrent jobs of one process ask for into calls of up to `perCall`,
 * waiting at most `windowMs` for a partial call to fill. A mint already waiting or in flight is
 * not asked for twice: its askers share one answer.
 */
export class Coalescer<R> {
  private pending: string[] = [];
  private readonly waiting = new Map<string, Waiting<R>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly windowMs: () => number,
    private readonly perCall: number,
    private readonly call: (mints: string[]) => Promise<Map<string, MintResult<R>>>,
  ) {}

  /** Results for `mints`, in a Map keyed by mint. */
  async request(mints: readonly string[]): Promise<Map<string, MintResult<R>>> {
    const asked = [...new Set(mints)];
    const promises = asked.map((m) => {
      const known = this.waiting.get(m);
      if (known) return known.promise;
      const d = deferred<R>();
      this.waiting.set(m, d);
      this.pending.push(m);
      return d.promise;
    });
    while (this.pending.length >= this.perCall) this.flush(this.pending.splice(0, this.perCall));
    if (this.pending.length > 0 && !this.timer) {
      const wait = this.windowMs();
      if (wait <= 0) this.flush(this.pending.splice(0));
      else this.timer = setTimeout(() => this.flushPartial(), wait);
    }
    const results = await Promise.all(promises);
    return new Map(asked.map((m, i) => [m, results[i]!]));
  }

  private flushPartial(): void {
    this.timer = null;
    while (this.pending.length > 0) this.flush(this.pending.splice(0, this.perCall));
  }

  private flush(group: string[]): void {
    const settle = (results: Map<string, MintResult<R>> | null, error?: unknown) => {
      for (const m of group) {
        const w = this.waiting.get(m);
        this.waiting.delete(m);
        w?.resolve(results?.get(m) ?? { ok: false, error: error ?? new Error(`no result for ${m}`) });
      }
    };
    this.call(group).then(
      (results) => settle(results),
      (error: unknown) => settle(null, error),
    );
  }
}
