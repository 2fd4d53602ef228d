import { afterEach } from "vitest";
import { WebSocket } from "ws";
import { BASE58_ALPHABET } from "../src/index.js";

const clients: StreamClient[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.ws.terminate();
});

export interface MigrationMessage {
  mint: string;
  txType: string;
  pool: string;
  signature?: string;
  name?: string;
  symbol?: string;
  timestamp?: number;
}

/** A plain `ws` client of the simulator's /api/data stream that keeps every text frame. */
export class StreamClient {
  readonly frames: string[] = [];
  readonly errors: Error[] = [];
  readonly closed: Promise<{ code: number }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => this.frames.push(data.toString("utf8")));
    this.closed = new Promise((resolve) => ws.once("close", (code: number) => resolve({ code })));
  }

  static async open(httpUrl: string, pathAndQuery = "/api/data", maxPayload?: number): Promise<StreamClient> {
    const ws = new WebSocket(httpUrl.replace(/^http/, "ws") + pathAndQuery, {
      ...(maxPayload === undefined ? {} : { maxPayload }),
    });
    const client = new StreamClient(ws);
    ws.on("error", (error) => client.errors.push(error));
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("close", () => reject(new Error("closed before open")));
    });
    return client;
  }

  subscribe(): void {
    this.ws.send(JSON.stringify({ method: "subscribeMigration" }));
  }

  /** The migrations received so far, unwrapped from their envelope. */
  migrations(): MigrationMessage[] {
    return this.frames.map(parseMigration).filter((m): m is MigrationMessage => m !== null);
  }
}

/** A migration frame's payload (plain or wrapped in `data`), or null for anything else. */
export function parseMigration(frame: string): MigrationMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return null;
  }
  const inner =
    typeof value === "object" && value !== null && "data" in value && typeof value.data === "object"
      ? value.data
      : value;
  if (typeof inner !== "object" || inner === null || !("mint" in inner) || typeof inner.mint !== "string")
    return null;
  return inner as MigrationMessage;
}

/** Bitcoin-style base58 decoding; throws on a character outside the alphabet. */
export function decodeBase58(text: string): Uint8Array {
  let value = 0n;
  for (const char of text) {
    const digit = BASE58_ALPHABET.indexOf(char);
    if (digit < 0) throw new Error(`not base58: ${char}`);
    value = value * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  while (value > 0n) {
    bytes.unshift(Number(value % 256n));
    value /= 256n;
  }
  for (const char of text) {
    if (char !== "1") break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
