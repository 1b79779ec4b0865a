import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Access } from "./access.ts";
import { RestError } from "./errors.ts";

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Compares in constant time whatever the lengths (both sides are hashed to 32 bytes first). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function parseBasicAuth(header: string | undefined): { username: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export interface Login {
  username: string;
  password: string;
  access: Access;
}

/** What the routes behind `basicAuth` find in `c.var`. */
export interface AuthEnv {
  Variables: { access: Access };
}

/**
 * HTTP Basic auth as `@upstash/kafka` sends it (`authorization: Basic base64(user:password)`): sets
 * `c.var.access` to the grants of the login, or answers 401. Every username is compared and one
 * password always is (a dummy when no username matched), so the time taken does not tell whether the
 * username or the password was wrong; both give the same answer.
 */
export function basicAuth(logins: readonly Login[]): MiddlewareHandler<AuthEnv> {
  const nobody = randomBytes(32).toString("hex");
  return async (c, next) => {
    const given = parseBasicAuth(c.req.header("authorization"));
    let found: Login | undefined;
    for (const login of logins) {
      if (safeEqual(given?.username ?? "", login.username) && !found) found = login;
    }
    const passwordOk = safeEqual(given?.password ?? "", found?.password ?? nobody);
    if (!given || !found || !passwordOk) {
      c.header("WWW-Authenticate", 'Basic realm="kafka-rest", charset="UTF-8"');
      throw new RestError(401, "unauthorized", "unauthorized: wrong or missing username/password");
    }
    c.set("access", found.access);
    await next();
  };
}
