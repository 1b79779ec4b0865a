import { describe, expect, it } from "vitest";
import { backoffDelay, fullJitterDelay } from "./backoff.ts";
import {
  describeError,
  isDependencyDown,
  isNonRetryable,
  isTransient,
  NonRetryableError,
} from "./failures.ts";

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe("failure classification", () => {
  it("treats an unreachable or restarting Postgres as a dependency that is down", () => {
    expect(isDependencyDown(withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"))).toBe(true);
    expect(isDependencyDown(withCode("terminating connection due to administrator command", "57P01"))).toBe(
      true,
    );
    expect(isDependencyDown(withCode("connection failure", "08006"))).toBe(true);
    expect(isDependencyDown(new Error("Connection terminated unexpectedly"))).toBe(true);
    // drizzle wraps the driver's error in `cause`; net wraps per-address failures in an AggregateError
    const wrapped = new Error("Failed query: insert ...", {
      cause: withCode("the database system is shutting down", "57P03"),
    });
    expect(isDependencyDown(wrapped)).toBe(true);
    expect(isDependencyDown(new AggregateError([withCode("refused", "ECONNREFUSED")]))).toBe(true);
  });

  it("treats a deadline that fired in Postgres or Redis as the dependency being down", () => {
    expect(isDependencyDown(withCode("canceling statement due to statement timeout", "57014"))).toBe(true);
    expect(
      isDependencyDown(withCode("terminating connection due to idle-in-transaction timeout", "25P03")),
    ).toBe(true);
    expect(isDependencyDown(new Error("Query read timeout"))).toBe(true);
    expect(isDependencyDown(new Error("Command timed out"))).toBe(true);
    expect(isDependencyDown(new Error("Failed query", { cause: new Error("Query read timeout") }))).toBe(
      true,
    );
  });

  it("tells transient failures of a remote service from refused requests", () => {
    const timeout = Object.assign(new Error("processor did not answer"), { transient: true });
    const refused = Object.assign(new Error("idempotency key reused"), { transient: false });
    expect(isTransient(new Error("wrapped", { cause: timeout }))).toBe(true);
    expect(isNonRetryable(timeout)).toBe(false);
    expect(isTransient(refused)).toBe(false);
    expect(isNonRetryable(refused)).toBe(true);
    expect(isTransient(new Error("plain"))).toBe(false);
  });

  it("treats everything else as a failure of the event", () => {
    expect(isDependencyDown(withCode("duplicate key value violates unique constraint", "23505"))).toBe(false);
    expect(isDependencyDown(new Error("order ord_1 is not in Postgres"))).toBe(false);
    expect(isNonRetryable(new Error("wrapped", { cause: new NonRetryableError("never") }))).toBe(true);
    // Postgres refusing the event's own data fails it the same way every time; a conflict may not.
    const unstorable = withCode("unsupported Unicode escape sequence", "22P05");
    expect(isNonRetryable(new Error("Failed query", { cause: unstorable }))).toBe(true);
    expect(isNonRetryable(withCode("value out of range for type integer", "22003"))).toBe(true);
    expect(isNonRetryable(withCode("duplicate key value violates unique constraint", "23505"))).toBe(false);
    expect(describeError(new Error("outer", { cause: withCode("inner", "23505") }))).toBe(
      "Error: outer <- caused by Error [23505]: inner",
    );
    // A failed query's long text (its statement and parameters) never hides the cause.
    const long = new Error(`Failed query: ${"x".repeat(5_000)}`, {
      cause: withCode("the order fails a check", "23514"),
    });
    expect(describeError(long)).toMatch(/… <- caused by Error \[23514\]: the order fails a check$/);
  });
});

describe("backoff", () => {
  it("doubles from the initial delay up to the cap, with up to half of each step random", () => {
    const policy = { initialMs: 200, maxMs: 1_000 };
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, policy, () => 1))).toEqual([
      200, 400, 800, 1_000, 1_000,
    ]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([100, 200, 400, 500]);
  });

  it("with full jitter, waits anywhere from nothing to the whole capped step", () => {
    const policy = { initialMs: 200, maxMs: 1_000 };
    expect([1, 2, 3, 4, 10].map((n) => fullJitterDelay(n, policy, () => 1))).toEqual([
      200, 400, 800, 1_000, 1_000,
    ]);
    expect([1, 5].map((n) => fullJitterDelay(n, policy, () => 0))).toEqual([0, 0]);
    expect(fullJitterDelay(3, policy, () => 0.5)).toBe(400);
  });
});
