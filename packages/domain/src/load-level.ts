import { z } from "zod";

/** normal: grow when there is work; reduced: hold; high: cut to the under-load cap. */
export const LOAD_LEVELS = ["normal", "reduced", "high"] as const;
export const loadLevelSchema = z.enum(LOAD_LEVELS);
export type LoadLevel = z.infer<typeof loadLevelSchema>;
