import { DISCOVERY_OUTCOMES, type DiscoveryOutcome, type DiscoveryStatus } from "@moonfleet/domain";

/** Outcomes that are messages refused by the parser (the rest are migrations). */
const REJECTED = [
  "no_mint",
  "invalid_mint",
  "not_json",
  "oversized",
] as const satisfies readonly DiscoveryOutcome[];

/**
 * The `discovery` block of /health/scheduler, from the leader's published status (null when no
 * process leads: discovery off, every replica down, or none started). Without a leader, `off`
 * comes from this process's DISCOVERY_URL, which npm start and compose give every process.
 */
export function discoveryView(status: DiscoveryStatus | null, now: number, url: string | undefined) {
  if (status === null)
    return {
      state: url === "off" ? ("off" as const) : ("no_leader" as const),
      connected: false,
      leader: null,
    };
  const outcomes = Object.fromEntries(DISCOVERY_OUTCOMES.map((o) => [o, status.outcomes[o] ?? 0])) as Record<
    DiscoveryOutcome,
    number
  >;
  const connected = status.connected && status.subscribed;
  return {
    state: connected ? ("connected" as const) : ("connecting" as const),
    connected,
    leader: status.id,
    url: status.url,
    connectedForSeconds:
      status.connectedSince === null ? null : Math.max(0, Math.round((now - status.connectedSince) / 1000)),
    lastEventAgeSeconds:
      status.lastEventAt === null ? null : Math.max(0, Math.round((now - status.lastEventAt) / 1000)),
    eventsPerMinute: status.eventsLastMinute,
    reconnects: status.reconnects,
    lastDisconnectReason: status.lastDisconnectReason,
    registered: outcomes.registered,
    rejected: Object.fromEntries(REJECTED.map((o) => [o, outcomes[o]])) as Record<
      (typeof REJECTED)[number],
      number
    >,
    outcomes,
  };
}

export type DiscoveryView = ReturnType<typeof discoveryView>;
