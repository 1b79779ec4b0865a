import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { AppError } from "../../domain/errors.ts";
import { CurrencySchema } from "../../domain/money.ts";
import { KAFKA_PREFIX_PATTERN } from "../../domain/topics.ts";
import { log } from "./log.ts";

/**
 * The workers' settings (wrangler.toml `[vars]` and secrets), one schema per worker, checked once per
 * isolate. A missing or malformed setting is a deployment to fix, not an outage: every request then
 * answers 500 `config_error` naming it (never a 503 "could not be reached", which pages on-call for
 * a dependency that is fine), and the isolate logs it once. Defaults are the production values.
 */

const secret = (what: string) =>
  z.string({ error: `is missing: ${what} (a secret: wrangler secret put)` }).min(1, `is empty: ${what}`);
const url = (what: string) => z.url({ error: `expected an absolute URL: ${what}` });
const int = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int(`expected a whole number from ${min} to ${max}`)
    .min(min, `expected a whole number from ${min} to ${max}`)
    .max(max, `expected a whole number from ${min} to ${max}`)
    .default(fallback);

/** Requests a limit may allow per window: any count Redis can keep (local runs lift them out of reach). */
const MAX_LIMIT = 2 ** 31 - 1;

/** What both workers reach: the state and cache Redis, Kafka REST, Postgres (Neon), and tokens. */
export const ServiceSettingsShape = {
  UPSTASH_REDIS_REST_URL: url("the state Redis's REST URL (Upstash)"),
  UPSTASH_REDIS_REST_TOKEN: secret("the state Redis's REST token"),
  CACHE_REDIS_REST_URL: url("the cache Redis's REST URL (Upstash)"),
  CACHE_REDIS_REST_TOKEN: secret("the cache Redis's REST token"),
  KAFKA_REST_URL: url("the Kafka REST service's URL"),
  KAFKA_REST_USERNAME: secret("the workers' Kafka REST login"),
  KAFKA_REST_PASSWORD: secret("the workers' Kafka REST password"),
  DATABASE_URL: z.url({
    protocol: /^postgres(ql)?$/,
    error: "expected postgres://user:password@host/db: the workers' role on Neon (a secret)",
  }),
  /** Local runs only: the endpoint that speaks Neon's protocols in front of PostgreSQL. */
  NEON_LOCAL_ENDPOINT: url("the local Neon endpoint (local runs only)").optional(),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(KAFKA_PREFIX_PATTERN, "letters, digits, '.', '_' and '-' only")
    .default(""),
  /** Deadlines of outbound calls (ms): a dependency that hangs is answered as down (503, Retry-After). */
  REDIS_TIMEOUT_MS: int(10, 60_000, 1_500),
  DATABASE_TIMEOUT_MS: int(10, 60_000, 2_500),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Origins of browser apps allowed to call the API (comma-separated, `*` for a port or subdomain part). */
  CORS_ALLOWED_ORIGINS: z.string().default(""),
  CUSTOMER_TOKEN_SECRET: secret("the signing key of customer tokens, the same on both workers"),
  /** Currency of an empty cart. */
  DEFAULT_CURRENCY: CurrencySchema.default("USD"),
  /** Image URLs in catalog answers; both workers fill the same catalog cache, so both the same value. */
  MEDIA_BASE_URL: url("the public base of image URLs, e.g. https://shop.example.com/media"),
  /** Redis catalog cache: seconds a product entry is fresh. */
  CATALOG_FRESH_SECONDS: int(0, 86_400, 60),
};

/** What the storefront adds: its catalog, limits, admin, media and webhooks. */
export const StorefrontSettingsSchema = z.object({
  ...ServiceSettingsShape,
  ADMIN_TOKEN: secret("the admin API's bearer token"),
  CURSOR_SIGNING_SECRET: secret("the HMAC key of catalog list cursors"),
  MEDIA_SIGNING_SECRET: secret("the HMAC key of signed media URLs"),
  /** Only where Stripe sends webhooks; unset, POST /v1/webhooks/stripe answers 404. */
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  /** Seconds a catalog page or category entry is fresh in the cache Redis. */
  CATALOG_LIST_FRESH_SECONDS: int(0, 86_400, 30),
  /** HTTP max-age of catalog answers, which is also their TTL in the edge Cache API. */
  CATALOG_MAX_AGE_SECONDS: int(0, 86_400, 30),
  CATALOG_LIST_MAX_AGE_SECONDS: int(0, 86_400, 15),
  /** Products answer `availableQty` ("only 3 left") when at most this many units are left. */
  LOW_STOCK_THRESHOLD: int(0, 1_000_000, 5),
  /**
   * Per-client abuse limits (windows in the state Redis; 429 rate_limited with Retry-After); local
   * runs (.dev.vars, the test bindings) set limits no test or benchmark reaches. Cart changes (add,
   * set, remove, create, delete) per client IP per window:
   */
  CART_RATE_LIMIT: int(1, MAX_LIMIT, 300),
  CART_RATE_WINDOW_SECONDS: int(1, 86_400, 60),
  /** Signed upload grants (POST /v1/uploads) per window. */
  UPLOAD_RATE_LIMIT: int(1, MAX_LIMIT, 20),
  UPLOAD_RATE_WINDOW_SECONDS: int(1, 86_400, 600),
  /** Checkouts per client IP, and per customer when signed in, per window. */
  CHECKOUT_RATE_LIMIT: int(1, MAX_LIMIT, 20),
  CHECKOUT_RATE_WINDOW_SECONDS: int(1, 86_400, 60),
  /** Sign-ups (POST /v1/customers) per client IP per window. */
  SIGNUP_RATE_LIMIT: int(1, MAX_LIMIT, 10),
  SIGNUP_RATE_WINDOW_SECONDS: int(1, 86_400, 3_600),
  /**
   * Reads that reach Postgres because Redis had no answer, per client IP and per customer per window;
   * and per second across every client and isolate (the ceiling Postgres is sized for): beyond it a
   * stale cache entry answers when there is one, else 429. Never a queue.
   */
  ORIGIN_MISS_LIMIT: int(1, MAX_LIMIT, 120),
  ORIGIN_MISS_WINDOW_SECONDS: int(1, 86_400, 60),
  ORIGIN_MISS_GLOBAL_LIMIT: int(1, MAX_LIMIT, 500),
  /** Lifetime of a customer bearer token (s). */
  CUSTOMER_TOKEN_TTL_SECONDS: int(1, 31_536_000, 604_800),
  /** Failed sign-ins allowed per account (email) and per client IP per window, then 429. */
  SIGNIN_ACCOUNT_LIMIT: int(1, MAX_LIMIT, 10),
  SIGNIN_IP_LIMIT: int(1, MAX_LIMIT, 100),
  SIGNIN_WINDOW_SECONDS: int(1, 86_400, 900),
  /** How long the storefront waits for the checkout worker behind the CHECKOUT binding. */
  CHECKOUT_TIMEOUT_MS: int(100, 60_000, 10_000),
});

/** What the checkout worker adds: how long it waits for Kafka, and what one order may commit. */
export const CheckoutSettingsSchema = z.object({
  ...ServiceSettingsShape,
  /** How long checkout waits for Kafka to acknowledge an order before answering 503. */
  ORDER_PUBLISH_TIMEOUT_MS: int(100, 60_000, 4_000),
  /**
   * The most one checkout may commit stock and a card authorization to (minor units): an order or a
   * line worth more is refused before anything is held (422 amount_limit).
   */
  MAX_ORDER_CENTS: int(1, Number.MAX_SAFE_INTEGER, 10_000_000),
  MAX_LINE_CENTS: int(1, Number.MAX_SAFE_INTEGER, 10_000_000),
  /** How long checkout holds units on the edge stock counter before Postgres reserves them (ms). */
  STOCK_HOLD_TTL_MS: int(1_000, 86_400_000, 600_000),
});

export type StorefrontSettings = z.infer<typeof StorefrontSettingsSchema>;
export type CheckoutSettings = z.infer<typeof CheckoutSettingsSchema>;

export interface SettingProblem {
  setting: string;
  problem: string;
}

/** Each problem under the setting to fix (`REDIS_TIMEOUT_MS: expected a whole number …`). */
export const settingProblems = (error: z.ZodError): SettingProblem[] =>
  error.issues.map((issue) => ({ setting: issue.path.join(".") || "env", problem: issue.message }));

type Checked<T> = { ok: true; settings: T } | { ok: false; error: AppError };

/**
 * Parses the worker's env once per env object (one per isolate and deployment) and remembers the
 * answer: the settings, or the `config_error` every request answers, logged the first time only.
 */
export const checkedSettings = <S extends z.ZodType<object>>(
  service: string,
  schema: S,
): ((env: object) => Checked<z.output<S>>) => {
  const seen = new WeakMap<object, Checked<z.output<S>>>();
  return (env) => {
    const known = seen.get(env);
    if (known) return known;
    const parsed = schema.safeParse(env);
    let checked: Checked<z.output<S>>;
    if (parsed.success) checked = { ok: true, settings: parsed.data };
    else {
      const problems = settingProblems(parsed.error);
      log("error", "config_error", { service, problems });
      checked = {
        ok: false,
        error: new AppError(
          "config_error",
          `the ${service} worker is misconfigured: ${problems.map((p) => `${p.setting} ${p.problem}`).join("; ")}`,
          { details: { settings: problems } },
        ),
      };
    }
    seen.set(env, checked);
    return checked;
  };
};

/**
 * Refuses every request of a misconfigured worker with 500 `config_error` naming the settings, except
 * `GET /healthz` (the process answers; deploy checks read what is wrong from any other route), and
 * makes the parsed settings available as `c.var.settings`.
 */
export const requireSettings = <S extends z.ZodType<object>>(
  service: string,
  schema: S,
): MiddlewareHandler<{ Variables: { settings: z.output<S> } }> => {
  const check = checkedSettings(service, schema);
  return async (c, next) => {
    if (c.req.path === "/healthz") return next();
    const checked = check((c.env ?? {}) as object);
    if (!checked.ok) throw checked.error;
    c.set("settings", checked.settings);
    await next();
  };
};
