import type { TokenStatus } from "@moonfleet/domain";

export const ARCHIVE_WINDOW_MS = 12 * 3_600_000;

export interface ArchiveInput {
  status: TokenStatus;
  /** Epoch ms when the token was registered. */
  createdAt: number;
  /** Epoch ms of the last smoothed score >= MIN_SCORE, null if never. */
  lastGoodScoreAt: number | null;
  /** Epoch ms when the token last became active, null if not active. */
  activeSince: number | null;
  now: number;
  /** Both windows at once (tests); each defaults to ARCHIVE_WINDOW_MS. */
  windowMs?: number;
  /** MONITORING_TIMEOUT_HOURS: a monitoring token that has not activated this long is archived. */
  monitoringWindowMs?: number;
  /** ARCHIVE_BELOW_HOURS: an active token without a good score this long is archived. */
  activeWindowMs?: number;
}

/**
 * The archive rule. An active token is judged from its last good score, but never from
 * before it (last) became active: a token that just activated gets a full window to score.
 */
export function shouldArchive({
  status,
  createdAt,
  lastGoodScoreAt,
  activeSince,
  now,
  windowMs = ARCHIVE_WINDOW_MS,
  monitoringWindowMs = windowMs,
  activeWindowMs = windowMs,
}: ArchiveInput): boolean {
  switch (status) {
    case "active": {
      const since = activeSince ?? createdAt;
      const reference = lastGoodScoreAt === null ? since : Math.max(lastGoodScoreAt, since);
      return now - reference > activeWindowMs;
    }
    case "monitoring":
      return now - createdAt > monitoringWindowMs;
    case "archived":
      return false;
  }
}

export interface NextStatusInput extends ArchiveInput {
  /** Whether the activation rule holds now. */
  activated: boolean;
}

/**
 * Activation wins over age (an old monitoring token that activates becomes active); an active token
 * that stops meeting the rule falls back to monitoring; archived is final.
 */
export function nextStatus(input: NextStatusInput): TokenStatus {
  switch (input.status) {
    case "archived":
      return "archived";
    case "monitoring":
      if (input.activated) return "active";
      return shouldArchive(input) ? "archived" : "monitoring";
    case "active":
      if (!input.activated) return "monitoring";
      return shouldArchive(input) ? "archived" : "active";
  }
}
