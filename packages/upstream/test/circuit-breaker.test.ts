import type { BreakerState } from "@moonfleet/domain";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, type BreakerSettings } from "../src/circuit-breaker.js";

interface Change {
  from: BreakerState;
  to: BreakerState;
  why: string;
}

/** A breaker on a hand-driven clock, with mutable settings and a record of its changes. */
function setup(overrides: Partial<BreakerSettings> = {}) {
  const clock = { t: 1_000_000 };
  const settings: { -readonly [K in keyof BreakerSettings]: BreakerSettings[K] } = {
    failureThreshold: 3,
    cooldownMs: 10_000,
    halfOpenCalls: 2,
    closeAfter: 2,
    ...overrides,
  };
  const changes: Change[] = [];
  const breaker = new CircuitBreaker(
    () => settings,
    () => clock.t,
    (to, from, why) => changes.push({ from, to, why }),
  );
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) {
      expect(breaker.permit().allowed).toBe(true);
      breaker.onFailure();
    }
  };
  return { clock, settings, changes, breaker, fail };
}

describe("CircuitBreaker", () => {
  it("opens after failureThreshold consecutive failures", () => {
    const { breaker, fail, changes } = setup();
    fail(2);
    expect(breaker.state).toBe("closed");
    fail(1);
    expect(breaker.state).toBe("open");
    expect(changes).toEqual([{ from: "closed", to: "open", why: "3 consecutive failures" }]);
  });

  it("a success resets the consecutive-failure count", () => {
    const { breaker, fail } = setup();
    fail(2);
    breaker.onSuccess();
    fail(2);
    expect(breaker.state).toBe("closed");
    fail(1);
    expect(breaker.state).toBe("open");
  });

  it("denies permits while open, with the time left of the cool-down", () => {
    const { breaker, fail, clock } = setup();
    fail(3);
    expect(breaker.permit()).toEqual({ allowed: false, retryInMs: 10_000 });
    clock.t += 4_000;
    expect(breaker.permit()).toEqual({ allowed: false, retryInMs: 6_000 });
    clock.t += 5_999;
    expect(breaker.permit()).toEqual({ allowed: false, retryInMs: 1 });
    expect(breaker.state).toBe("open");
  });

  it("goes half-open once the cool-down is over", () => {
    const { breaker, fail, clock, changes } = setup();
    fail(3);
    clock.t += 10_000;
    expect(breaker.state).toBe("half_open");
    expect(changes.at(-1)).toEqual({ from: "open", to: "half_open", why: "cool-down over" });
  });

  it("lets at most halfOpenCalls trials through at once while half-open", () => {
    const { breaker, fail, clock } = setup({ halfOpenCalls: 2 });
    fail(3);
    clock.t += 10_000;
    expect(breaker.permit().allowed).toBe(true);
    expect(breaker.permit().allowed).toBe(true);
    const third = breaker.permit();
    expect(third.allowed).toBe(false);
    expect(third.allowed === false && third.retryInMs).toBeGreaterThan(0);
    // A finished trial frees its place (one success is not enough to close with closeAfter 2).
    breaker.onSuccess();
    expect(breaker.state).toBe("half_open");
    expect(breaker.permit().allowed).toBe(true);
    expect(breaker.permit().allowed).toBe(false);
  });

  it("closes after closeAfter successful trials", () => {
    const { breaker, fail, clock, changes } = setup({ closeAfter: 2, halfOpenCalls: 3 });
    fail(3);
    clock.t += 10_000;
    expect(breaker.permit().allowed).toBe(true);
    breaker.onSuccess();
    expect(breaker.state).toBe("half_open");
    expect(breaker.permit().allowed).toBe(true);
    breaker.onSuccess();
    expect(breaker.state).toBe("closed");
    expect(changes.at(-1)).toEqual({ from: "half_open", to: "closed", why: "2 trial calls succeeded" });
    // Closed again means a fresh count: it takes a full threshold of failures to reopen.
    fail(2);
    expect(breaker.state).toBe("closed");
  });

  it("re-opens on any half-open failure, with a new cool-down", () => {
    const { breaker, fail, clock, changes } = setup({ closeAfter: 3, halfOpenCalls: 3 });
    fail(3);
    clock.t += 10_000;
    expect(breaker.permit().allowed).toBe(true);
    breaker.onSuccess();
    expect(breaker.permit().allowed).toBe(true);
    breaker.onFailure();
    expect(breaker.state).toBe("open");
    expect(changes.at(-1)).toEqual({ from: "half_open", to: "open", why: "a trial call failed" });
    expect(breaker.permit()).toEqual({ allowed: false, retryInMs: 10_000 });
  });

  it("cancel() gives an unused trial back", () => {
    const { breaker, fail, clock } = setup({ halfOpenCalls: 1 });
    fail(3);
    clock.t += 10_000;
    expect(breaker.permit().allowed).toBe(true);
    expect(breaker.permit().allowed).toBe(false);
    breaker.cancel();
    expect(breaker.permit().allowed).toBe(true);
    expect(breaker.state).toBe("half_open");
  });

  it("calls onChange exactly once per change, with from, to and why", () => {
    const { breaker, fail, clock, changes } = setup({ closeAfter: 1, halfOpenCalls: 1 });
    fail(3);
    // Extra failures and reads while open change nothing.
    breaker.onFailure();
    void breaker.state;
    breaker.permit();
    clock.t += 10_000;
    void breaker.state;
    void breaker.state;
    expect(breaker.permit().allowed).toBe(true);
    breaker.onSuccess();
    void breaker.state;
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      ["closed", "open"],
      ["open", "half_open"],
      ["half_open", "closed"],
    ]);
    expect(changes.every((c) => c.why.length > 0)).toBe(true);
  });

  it("reads its settings live", () => {
    const { breaker, fail, clock, settings } = setup({ failureThreshold: 5, cooldownMs: 60_000 });
    fail(2);
    settings.failureThreshold = 3;
    fail(1);
    expect(breaker.state).toBe("open");
    settings.cooldownMs = 1_000;
    clock.t += 1_000;
    expect(breaker.state).toBe("half_open");
    settings.halfOpenCalls = 1;
    expect(breaker.permit().allowed).toBe(true);
    expect(breaker.permit().allowed).toBe(false);
    settings.closeAfter = 1;
    breaker.onSuccess();
    expect(breaker.state).toBe("closed");
  });
});
