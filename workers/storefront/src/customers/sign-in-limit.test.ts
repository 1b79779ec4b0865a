import { describe, expect, it } from "vitest";
import type { EnvOverrides } from "../../../platform/test-support.ts";
import { expectError, json, signIn, signUpCustomer, uniqueEmail } from "../test-support.ts";

const WINDOW_SECONDS = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for the start of a fresh fixed window, so a test's attempts all fall in one. */
const freshWindow = async () => {
  const windowMs = WINDOW_SECONDS * 1000;
  await sleep(windowMs - (Date.now() % windowMs) + 50);
};

const limits = (account: number, ip = 100_000): EnvOverrides => ({
  SIGNIN_ACCOUNT_LIMIT: String(account),
  SIGNIN_IP_LIMIT: String(ip),
  SIGNIN_WINDOW_SECONDS: String(WINDOW_SECONDS),
});

const octet = () => Math.floor(Math.random() * 254) + 1;
const uniqueIp = () => `10.${octet()}.${octet()}.${octet()}`;

describe("failed sign-ins are rate limited", () => {
  it("per account: 20 wrong passwords end in 429 with Retry-After; the right one works once the window passes", async () => {
    const { email, password } = await signUpCustomer();
    await freshWindow();
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < 20; i++) {
      // A different client each time: the account's own limit is what stops the guesses.
      const res = await signIn({ email, password: `wrong password ${i}` }, limits(10), uniqueIp());
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = Number(res.headers.get("Retry-After"));
        await expectError(res, 429, "rate_limited");
      } else await expectError(res, 401, "invalid_credentials");
    }
    expect(statuses).toEqual([...Array(10).fill(401), ...Array(10).fill(429)]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    // Even the right password waits: the limit is checked before the password.
    await expectError(await signIn({ email, password }, limits(10)), 429, "rate_limited");
    await sleep(retryAfter * 1000 + 100);
    const res = await signIn({ email, password }, limits(10));
    expect(res.status).toBe(200);
  });

  it("per account, also under parallel guesses", async () => {
    const { email } = await signUpCustomer();
    await freshWindow();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signIn({ email, password: `guess ${i}` }, limits(5), uniqueIp())),
    );
    const statuses = results.map((res) => res.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]);
  });

  it("per client IP, across accounts (unknown emails included)", async () => {
    const ip = uniqueIp();
    await freshWindow();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await signIn({ email: uniqueEmail("spray"), password: "Winter2026!" }, limits(100, 5), ip);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(3).fill(429)]);
    // Another client is not affected.
    const other = await signIn(
      { email: uniqueEmail("spray"), password: "Winter2026!" },
      limits(100, 5),
      uniqueIp(),
    );
    expect(other.status).toBe(401);
  });

  it("counts only failures: successful sign-ins never reach the limit", async () => {
    const { email, password } = await signUpCustomer();
    const ip = uniqueIp();
    for (let i = 0; i < 6; i++) {
      const res = await signIn({ email, password }, limits(2, 2), ip);
      expect(res.status).toBe(200);
      expect(await json<{ token: string }>(res)).toHaveProperty("token");
    }
  });
});
