// Types of soak.mjs for the tests that import it.

export interface Reading {
  readonly tS: number;
  readonly mb: number | null;
}

export interface SeriesVerdict {
  readonly label: string;
  readonly judged: boolean;
  readonly readings: number;
  readonly baseMb?: number;
  readonly minMb?: number;
  readonly maxMb?: number;
  readonly lastMb?: number;
  readonly up?: number;
  readonly down?: number;
  readonly bothWays?: boolean;
  readonly ok?: boolean;
}

export function pollLikeAnOperator(
  apiUrl: string,
  until: () => boolean,
): Promise<{ ok: number; failed: number }>;
export function boundedFill(
  redis: unknown,
  root: string,
  keys: { registry: string; history: (mint: string) => string },
): Promise<{
  completed: { hot: number; cold: number };
  events: { hot: number; cold: number };
  historyMean: number;
}>;
export function soakVerdict(
  series: Record<string, readonly Reading[]>,
  opts: { warmupS: number; tolerance: number; bothWays?: readonly string[] },
): SeriesVerdict[];
