import { createHash } from "node:crypto";
import type { Redis } from "./connection.js";

/**
 * A Lua script called by its SHA1 (EVALSHA): the scripts that run for every job are kilobytes of
 * text that EVAL would send, and Redis hash, on every call. The text goes only when Redis does not
 * know the script yet (first use, after a restart or a SCRIPT FLUSH).
 */
export class Script {
  readonly sha: string;

  constructor(readonly body: string) {
    this.sha = createHash("sha1").update(body).digest("hex");
  }

  async run(redis: Redis, numKeys: number, args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, numKeys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.body, numKeys, ...args);
    }
  }
}
