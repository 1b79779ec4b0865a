import { env } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { AppError } from "../../../domain/errors.ts";
import { redisClient } from "../../platform/clients.ts";
import { optionalCustomer, requireCustomer } from "./auth.ts";
import { issueToken, revokedTokenKey, revokeToken, verifyToken } from "./token.ts";

const customerId = `cus_${"A".repeat(22)}`;
const deps = () => ({ secret: env.CUSTOMER_TOKEN_SECRET, redis: redisClient(env, { raw: true }) });

const refusedWith = async (work: Promise<unknown>, code: string) => {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
};

describe("customer tokens", () => {
  it("round-trips the customer, with a unique id and the configured expiry", async () => {
    const now = Date.now();
    const a = await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 3600, now);
    const b = await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 3600, now);
    expect(a.session.jti).not.toBe(b.session.jti);
    expect(a.session.exp).toBe(Math.floor(now / 1000) + 3600);
    expect(await verifyToken(deps(), a.token)).toEqual(a.session);
  });

  it("refuses tampered, foreign-key, expired and malformed tokens with 401 unauthorized", async () => {
    const { token } = await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 3600);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const forged = btoa(JSON.stringify({ ...JSON.parse(atob(payload)), sub: `cus_${"B".repeat(22)}` }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    await refusedWith(verifyToken(deps(), `${header}.${forged}.${signature}`), "unauthorized");
    await refusedWith(verifyToken(deps(), `${token.slice(0, -2)}xx`), "unauthorized");
    const other = await issueToken("some-other-secret", customerId, 3600);
    await refusedWith(verifyToken(deps(), other.token), "unauthorized");
    const expired = await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 60, Date.now() - 3_600_000);
    await refusedWith(verifyToken(deps(), expired.token), "unauthorized");
    // Signed with the right key but not one of ours (no audience, no jti).
    const bare = await sign(
      { sub: customerId, exp: Math.floor(Date.now() / 1000) + 60 },
      env.CUSTOMER_TOKEN_SECRET,
    );
    await refusedWith(verifyToken(deps(), bare), "unauthorized");
    await refusedWith(verifyToken(deps(), "not-a-jwt"), "unauthorized");
  });

  it("refuses a revoked token, and the revocation expires when the token would", async () => {
    const { token, session } = await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 120);
    await revokeToken(deps().redis, session);
    await refusedWith(verifyToken(deps(), token), "unauthorized");
    const ttl = await deps().redis.ttl(revokedTokenKey(session.jti));
    expect(ttl).toBeGreaterThan(110);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it("reads the bearer header: none is a guest for optional routes, anything else must be valid", async () => {
    const { token, session } = await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 120);
    expect(await requireCustomer(env, `Bearer ${token}`)).toEqual(session);
    expect(await optionalCustomer(env, undefined)).toBeNull();
    expect(await optionalCustomer(env, `Bearer ${token}`)).toEqual(session);
    await refusedWith(requireCustomer(env, undefined), "unauthorized");
    await refusedWith(requireCustomer(env, `Basic ${token}`), "unauthorized");
    await refusedWith(optionalCustomer(env, "Bearer"), "unauthorized");
  });

  it("will not sign or verify without a key", async () => {
    await expect(issueToken("", customerId, 60)).rejects.toThrow(/CUSTOMER_TOKEN_SECRET/);
    const { token } = await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 60);
    await expect(verifyToken({ ...deps(), secret: undefined }, token)).rejects.toThrow(
      /CUSTOMER_TOKEN_SECRET/,
    );
  });
});
