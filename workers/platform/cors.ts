import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

/** Headers a browser app may send, and the answer headers it may read. */
const ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match"];
const EXPOSE_HEADERS = ["Location", "Idempotent-Replayed", "Retry-After", "ETag", "X-Cache", "X-Request-Id"];

const escapeRegExp = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/**
 * The allowed origins of `CORS_ALLOWED_ORIGINS`: comma-separated origins, where `*` stands for any
 * port or subdomain part (`http://localhost:*`, `https://*.example.com`).
 */
export const originMatcher = (setting: string | undefined): ((origin: string) => boolean) => {
  const patterns = (setting ?? "")
    .split(",")
    .map((entry) => entry.trim().replace(/\/$/, ""))
    .filter(Boolean)
    .map((entry) => new RegExp(`^${entry.split("*").map(escapeRegExp).join("[A-Za-z0-9.-]+")}$`));
  return (origin) => patterns.some((pattern) => pattern.test(origin));
};

const matchers = new Map<string, (origin: string) => boolean>();
const allowedOrigin = (origin: string, c: Context): string | null => {
  const env: unknown = c.env;
  const setting =
    typeof env === "object" && env !== null && "CORS_ALLOWED_ORIGINS" in env
      ? String(env.CORS_ALLOWED_ORIGINS)
      : "";
  let matches = matchers.get(setting);
  if (!matches) {
    matches = originMatcher(setting);
    matchers.set(setting, matches);
  }
  return origin && matches(origin) ? origin : null;
};

/** CORS of the API: only the configured origins get CORS headers; preflights answer 204. */
export const apiCors = (): MiddlewareHandler =>
  cors({
    origin: allowedOrigin,
    allowMethods: ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: 600,
  });

/** Images are public: any origin may read them (no credentials). */
export const mediaCors = (): MiddlewareHandler =>
  cors({
    origin: "*",
    allowMethods: ["GET", "HEAD"],
    exposeHeaders: ["ETag", "Content-Range"],
    maxAge: 86_400,
  });
