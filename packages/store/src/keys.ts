import { keyRoot } from "@moonfleet/queues";

export type Status = "monitoring" | "active" | "archived";
export const STATUSES: readonly Status[] = ["monitoring", "active", "archived"];

/** Every key of the store, under the one hash tag `{prefix}`. */
export function storeKeys(prefix: string) {
  const root = keyRoot(prefix);
  return {
    root,
    token: (mint: string) => `${root}:tok:${mint}`,
    snapshot: (mint: string) => `${root}:snap:${mint}`,
    history: (mint: string) => `${root}:hist:${mint}`,
    registry: `${root}:registry`,
    due: (lane: "hot" | "cold") => `${root}:due:${lane}`,
    byScore: (status: Status | "all") => `${root}:idx:score:${status}`,
    byUpdated: (status: Status | "all") => `${root}:idx:updated:${status}`,
  };
}
export type StoreKeys = ReturnType<typeof storeKeys>;
