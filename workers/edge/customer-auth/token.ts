import type { Redis } from "@upstash/redis";
import { sign, verify } from "hono/jwt";
import { z } from "zod";
import { AppError } from "../../../domain/errors.ts";
import { CustomerIdSchema } from "../../../domain/events.ts";
import { randomToken } from "../../../domain/ids.ts";

/**
 * Customer tokens: JWTs signed with HS256 (`hono/jwt`) under `CUSTOMER_TOKEN_SECRET`, naming the
 * customer (`sub`), a unique id (`jti`) and an expiry (`exp`). Signing out records the `jti` in Redis
 * until the token would have expired, so a revoked token is refused by both workers.
 */
export const DEFAULT_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
const ISSUER = "storefront";
const AUDIENCE = "storefront-customer";

export interface CustomerSession {
  customerId: string;
  /** The token's unique id: what signing out revokes. */
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

const ClaimsSchema = z.object({
  sub: CustomerIdSchema,
  jti: z.string().min(16).max(64),
  exp: z.number().int().positive(),
});

/** Redis key marking a signed-out token; it expires when the token would. */
export const revokedTokenKey = (jti: string): string => `session-revoked:${jti}`;

const unauthorized = (message: string, cause?: unknown) =>
  new AppError("unauthorized", message, {
    cause,
    headers: { "WWW-Authenticate": 'Bearer realm="customer"' },
  });

const requireSecret = (secret: string | undefined): string => {
  if (!secret) throw new Error("CUSTOMER_TOKEN_SECRET is not set");
  return secret;
};

export const issueToken = async (
  secret: string | undefined,
  customerId: string,
  ttlSeconds: number,
  nowMs: number = Date.now(),
): Promise<{ token: string; session: CustomerSession }> => {
  const iat = Math.floor(nowMs / 1000);
  const session = { customerId, jti: randomToken(), exp: iat + ttlSeconds };
  const token = await sign(
    { sub: customerId, jti: session.jti, iat, exp: session.exp, iss: ISSUER, aud: AUDIENCE },
    requireSecret(secret),
    "HS256",
  );
  return { token, session };
};

export interface TokenDeps {
  secret: string | undefined;
  redis: Redis;
}

/** The session a token carries; tampered, expired, foreign or revoked tokens are 401 `unauthorized`. */
export const verifyToken = async (deps: TokenDeps, token: string): Promise<CustomerSession> => {
  let payload: unknown;
  try {
    payload = await verify(token, requireSecret(deps.secret), { alg: "HS256", iss: ISSUER, aud: AUDIENCE });
  } catch (error) {
    if (error instanceof Error && error.message === "CUSTOMER_TOKEN_SECRET is not set") throw error;
    throw unauthorized("the customer token is invalid or has expired", error);
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized("the customer token is invalid", claims.error);
  let revoked: number;
  try {
    revoked = await deps.redis.exists(revokedTokenKey(claims.data.jti));
  } catch (error) {
    throw new AppError("dependency_unavailable", "the session store could not be reached", {
      cause: error,
      retryAfter: 2,
    });
  }
  if (revoked > 0) throw unauthorized("the customer token was signed out");
  return { customerId: claims.data.sub, jti: claims.data.jti, exp: claims.data.exp };
};

const BEARER = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/;

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export const bearerToken = (authorization: string | null | undefined): string | undefined =>
  BEARER.exec(authorization?.trim() ?? "")?.[1];

/**
 * The customer an `Authorization` header's token names when its signature and expiry are valid, else
 * null; revocation is not looked up (no Redis call): for keying limits, never for access.
 */
export const optionalSubject = async (
  secret: string | undefined,
  authorization: string | null | undefined,
): Promise<string | null> => {
  const token = bearerToken(authorization);
  if (!token || !secret) return null;
  try {
    const claims = ClaimsSchema.safeParse(
      await verify(token, secret, { alg: "HS256", iss: ISSUER, aud: AUDIENCE }),
    );
    return claims.success ? claims.data.sub : null;
  } catch {
    return null;
  }
};

/** Refuses the session's token from now on (until it would have expired anyway). */
export const revokeToken = async (
  redis: Redis,
  session: CustomerSession,
  nowMs: number = Date.now(),
): Promise<void> => {
  const seconds = session.exp - Math.floor(nowMs / 1000);
  if (seconds <= 0) return;
  try {
    await redis.set(revokedTokenKey(session.jti), "1", { ex: seconds });
  } catch (error) {
    throw new AppError("dependency_unavailable", "the session store could not be reached", {
      cause: error,
      retryAfter: 2,
    });
  }
};
