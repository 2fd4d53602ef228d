import type { Redis } from "@moonfleet/queues";

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** A lock with expiry: whoever holds it leads until it stops renewing. */
export class LeaderLock {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly id: string,
    readonly ttlMs: number,
  ) {}

  /** Takes the lock when it is free, keeps it when we hold it; true while we lead. */
  async acquireOrRenew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.id, String(this.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.id);
  }
}
