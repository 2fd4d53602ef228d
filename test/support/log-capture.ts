import { Writable } from "node:stream";
import { pino } from "pino";

/** A pino logger at `level` whose lines land, parsed, in `lines` (for in-process apps under test). */
export function capturingLogger(level: "info" | "debug" = "info") {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n"))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
