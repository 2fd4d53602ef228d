import { z } from "zod";
import type { Lane } from "./lanes.js";

/** A token's life: monitoring (new) -> active (trades) -> archived (dead); active may fall back. */
export const TOKEN_STATUSES = ["monitoring", "active", "archived"] as const;
export const tokenStatusSchema = z.enum(TOKEN_STATUSES);
export type TokenStatus = z.infer<typeof tokenStatusSchema>;

/** Active tokens ride the hot lane, monitoring tokens the cold one; archived tokens are not refreshed. */
export function laneOf(status: TokenStatus): Lane | null {
  switch (status) {
    case "active":
      return "hot";
    case "monitoring":
      return "cold";
    case "archived":
      return null;
  }
}

/** The status whose tokens ride each lane (the inverse of laneOf). */
export const LANE_STATUS: Readonly<Record<Lane, TokenStatus>> = { hot: "active", cold: "monitoring" };

/** Where a token came from: an operator (the API) or the migration stream. */
export const TOKEN_SOURCES = ["api", "pumpportal"] as const;
export const tokenSourceSchema = z.enum(TOKEN_SOURCES);
export type TokenSource = z.infer<typeof tokenSourceSchema>;
