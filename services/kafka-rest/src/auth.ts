import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
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

/** HTTP Basic auth as `@upstash/kafka` sends it (`authorization: Basic base64(user:password)`). */
export function basicAuth(expected: { username: string; password: string }): MiddlewareHandler {
  return async (c, next) => {
    const given = parseBasicAuth(c.req.header("authorization"));
    // Both comparisons always run, so timing does not reveal which part was wrong.
    const userOk = safeEqual(given?.username ?? "", expected.username);
    const passwordOk = safeEqual(given?.password ?? "", expected.password);
    if (!given || !userOk || !passwordOk) {
      c.header("WWW-Authenticate", 'Basic realm="kafka-rest", charset="UTF-8"');
      throw new RestError(401, "unauthorized", "unauthorized: wrong or missing username/password");
    }
    await next();
  };
}
