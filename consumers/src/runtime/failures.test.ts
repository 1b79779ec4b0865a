import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";
import { describeError, isDependencyDown, isNonRetryable, NonRetryableError } from "./failures.ts";

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

  it("treats everything else as a failure of the event", () => {
    expect(isDependencyDown(withCode("duplicate key value violates unique constraint", "23505"))).toBe(false);
    expect(isDependencyDown(new Error("order ord_1 is not in Postgres"))).toBe(false);
    expect(isNonRetryable(new Error("wrapped", { cause: new NonRetryableError("never") }))).toBe(true);
    expect(describeError(new Error("outer", { cause: withCode("inner", "23505") }))).toBe(
      "Error: outer <- caused by Error [23505]: inner",
    );
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
});
